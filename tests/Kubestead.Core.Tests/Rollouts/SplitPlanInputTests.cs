using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Rollouts;

/// <summary>Issue #27 item 8: the split plan refuses a stable replica count below 1 and warns when the share it can set is far from the request.</summary>
public class SplitPlanInputTests
{
    private static SplitPlanResult Plan(double weight, string mesh, int? replicas = null) =>
        new KubesteadOffline().PlanSplit(new SplitPlanRequest(weight, TimeSpan.FromMinutes(1), 100, CanaryRoutingMode.Binomial, mesh, replicas));

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void A_stable_replica_count_below_one_is_refused_naming_it(int replicas)
    {
        var e = Assert.Throws<KubesteadException>(() => Plan(5, MeshProviders.None, replicas));
        Assert.Equal("StableReplicasOutOfRange", e.ErrorId);
        Assert.Contains("stable replica count", e.Message);
    }

    [Fact]
    public void A_share_far_from_the_request_is_warned_about_and_a_close_one_is_not()
    {
        // Istio weights are whole percents: 0.3% becomes 0%, 2.4% becomes 2% (close enough to plan without a word).
        Assert.Contains(Plan(0.3, MeshProviders.Istio).Warnings, w => w.Contains("cannot be set exactly", StringComparison.Ordinal) && w.Contains("0%", StringComparison.Ordinal));
        Assert.DoesNotContain(Plan(2.4, MeshProviders.Istio).Warnings, w => w.Contains("cannot be set exactly", StringComparison.Ordinal));
        // Without a mesh, 3 stable replicas make 25% the smallest share: 5% asked is far from it.
        Assert.Contains(Plan(5, MeshProviders.None, 3).Warnings, w => w.Contains("closest share is 25%", StringComparison.Ordinal));
    }
}
