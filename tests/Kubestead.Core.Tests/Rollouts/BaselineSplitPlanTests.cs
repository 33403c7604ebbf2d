using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Rollouts;

/// <summary>The offline split plan with a created baseline: its share, the comparison it implies, and what it refuses.</summary>
public class BaselineSplitPlanTests
{
    private static SplitPlanResult Plan(double weight, string mesh = MeshProviders.Istio, bool baseline = true, int? replicas = null) =>
        new KubesteadOffline().PlanSplit(new SplitPlanRequest(weight, TimeSpan.FromMinutes(1), 100, CanaryRoutingMode.Binomial, mesh, replicas, Baseline: baseline));

    [Fact]
    public void The_baseline_gets_the_canary_share_and_the_canary_its_own_requests()
    {
        var with = Plan(10);
        var without = Plan(10, baseline: false);
        Assert.Equal(10, with.BaselineWeight);
        Assert.Null(without.BaselineWeight);
        // The canary still gets 10% of 100 requests/s over a minute.
        Assert.Equal(600, with.ExpectedCanaryRequests, 6);
        Assert.Equal(without.ExpectedCanaryRequests, with.ExpectedCanaryRequests, 6);
        Assert.Contains("stable the rest (80%)", with.PrecisionExplanation);
    }

    [Fact]
    public void Comparing_with_a_baseline_of_the_same_share_takes_longer_to_detect_than_comparing_with_the_rest()
    {
        // Against the 90% rest, control's rate is known far better than against a 10% baseline: the test needs more time.
        var with = Plan(10);
        var without = Plan(10, baseline: false);
        Assert.NotNull(with.TimeToDetect);
        Assert.NotNull(without.TimeToDetect);
        Assert.True(with.TimeToDetect > without.TimeToDetect, $"{with.TimeToDetect} vs {without.TimeToDetect}");
    }

    [Fact]
    public void Without_a_mesh_the_baseline_pods_count_in_the_smallest_share()
    {
        // 10 stable pods: one canary pod is 1/11 alone, 1/12 beside a baseline pod.
        var with = Plan(8, MeshProviders.None, replicas: 10);
        Assert.Equal(100.0 / 12, with.MinimumCanaryWeight, 6);
        Assert.Equal(with.AchievableWeight, with.BaselineWeight);
        Assert.Equal(100.0 / 11, Plan(8, MeshProviders.None, baseline: false, replicas: 10).MinimumCanaryWeight, 6);
    }

    [Theory]
    [InlineData(MeshProviders.Nginx)]
    [InlineData(MeshProviders.Linkerd1)]
    public void Meshes_that_cannot_split_three_ways_are_refused_by_name(string mesh)
    {
        var e = Assert.Throws<KubesteadException>(() => Plan(5, mesh));
        Assert.Equal("BaselineNotSupported", e.ErrorId);
        Assert.Contains(mesh, e.Message);
    }

    [Fact]
    public void More_than_half_is_refused_because_the_baseline_takes_as_much()
    {
        var e = Assert.Throws<KubesteadException>(() => Plan(60));
        Assert.Equal("WeightOutOfRange", e.ErrorId);
        Assert.Contains("more than 50", e.Message);
        Assert.Equal(50, Plan(50).BaselineWeight);
    }
}
