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

    private static SplitPlanResult Banded(double? variance, int? stable = 10, int? canary = null, string mesh = MeshProviders.Istio, double weight = 25) =>
        new KubesteadOffline().PlanSplit(new SplitPlanRequest(weight, TimeSpan.FromSeconds(15), 200, CanaryRoutingMode.Binomial, mesh, stable)
        {
            PodVariance = variance,
            CanaryReplicas = canary,
        });

    [Fact]
    public void A_pod_variance_widens_what_a_pass_needs_and_says_the_band()
    {
        var alike = Banded(null);
        var varied = Banded(0.25, canary: 3);
        Assert.Null(alike.PassPodBand);
        Assert.NotNull(varied.PassPodBand);
        Assert.Equal(Kubestead.Analysis.PodPersistence.PassAllowanceFor(0.25, 3, 10), varied.PassPodBand!.Value, 12);
        Assert.True(varied.MinimumRequestsForPass > alike.MinimumRequestsForPass, $"{varied.MinimumRequestsForPass} against {alike.MinimumRequestsForPass}");
        Assert.Contains("3 canary and 10 stable pods", varied.PrecisionExplanation);
        // Fewer canary pods, a wider band: one pod at a CV of 1 leaves no Pass.
        Assert.True(Banded(0.25, canary: 1).PassPodBand > varied.PassPodBand);
        var one = Banded(1, canary: 1);
        Assert.Null(one.MinimumRequestsForPass);
        Assert.Null(one.MinimumWindowsForPass);
        Assert.Contains(one.Warnings, w => w.Contains("no Pass can come while the pods differ this much", StringComparison.Ordinal));
        // Without a mesh the canary's pods are the plan's own: 25% of 9 stable replicas is 3 canary replicas.
        Assert.Contains("3 canary and 9 stable pods", Banded(0.25, stable: 9, mesh: MeshProviders.None).PrecisionExplanation);
    }

    [Theory]
    [InlineData(-0.1, "PodVarianceOutOfRange", "--pod-variance")]
    [InlineData(1.5, "PodVarianceOutOfRange", "--pod-variance")]
    [InlineData(double.NaN, "PodVarianceOutOfRange", "--pod-variance")]
    public void A_pod_variance_out_of_range_is_refused_naming_it(double variance, string id, string field)
    {
        var e = Assert.Throws<KubesteadException>(() => Banded(variance));
        Assert.Equal(id, e.ErrorId);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void A_pod_variance_needs_the_stable_replicas_and_a_canary_count_of_at_least_one()
    {
        var e = Assert.Throws<KubesteadException>(() => Banded(0.25, stable: null));
        Assert.Equal("StableReplicasRequired", e.ErrorId);
        Assert.Contains("--stable-replicas", e.Message);
        e = Assert.Throws<KubesteadException>(() => Banded(0.25, canary: 0));
        Assert.Equal("CanaryReplicasOutOfRange", e.ErrorId);
        Assert.Contains("--canary-replicas", e.Message);
    }
}
