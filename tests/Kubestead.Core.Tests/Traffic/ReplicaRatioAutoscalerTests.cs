using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>Issue #19 item 12: a mesh-free split over a stable Deployment a HorizontalPodAutoscaler scales.</summary>
public class ReplicaRatioAutoscalerTests
{
    private static async Task<(EmulatedCluster Cluster, ReplicaRatioRouter Router)> SetUpAsync(bool hpa)
    {
        var cluster = new EmulatedCluster();
        foreach (var (name, replicas) in new[] { ("api", 4), ("api-canary", 0) })
            cluster.Seed(ResourceType.Deployment, JsonNode.Parse($$"""{"metadata":{"name":"{{name}}","namespace":"d"},"spec":{"replicas":{{replicas}},"template":{"metadata":{"labels":{"app":"api"} } } } }""")!.AsObject());
        if (hpa)
            cluster.Seed(HpaGuard.HorizontalPodAutoscaler, JsonNode.Parse("""
                {"metadata":{"name":"api","namespace":"d"},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"api"},"minReplicas":3,"maxReplicas":12}}
                """)!.AsObject());
        cluster.Materialize();
        var router = new ReplicaRatioRouter(cluster, new ReplicaRatioRouterOptions("d", "api", "api", "api", "api-canary", CapacityMode.KeepStable,
            TimeSpan.FromSeconds(20), TimeProvider.System));
        await router.PrepareAsync();
        return (cluster, router);
    }

    private static int Replicas(EmulatedCluster cluster, string name) => cluster.Peek(ResourceType.Deployment, "d", name)!["spec"]!["replicas"]!.GetValue<int>();

    private static Task ScaleStable(EmulatedCluster cluster, int replicas) => cluster.PatchSubresourceAsync(ResourceType.Deployment, "d", "api", "scale",
        new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = replicas } }));

    [Fact]
    public async Task The_canary_is_sized_from_the_replicas_the_autoscaler_runs_and_stable_is_left_to_it()
    {
        var (cluster, router) = await SetUpAsync(hpa: true);
        await router.SetCanaryWeightAsync(50);
        Assert.Equal(4, Replicas(cluster, "api-canary"));

        // The autoscaler scales stable to 8: the split is no longer 50% and that is drift, naming stable's replicas.
        await ScaleStable(cluster, 8);
        var split = await router.GetSplitAsync();
        Assert.Equal(100.0 * 4 / 12, split.CanaryPercent, 3);
        var drift = await router.DetectDriftAsync(new TrafficSplit(50, 50, [], "written"));
        Assert.NotNull(drift);
        Assert.Equal("api", drift.Target.Name);
        Assert.Equal(new FieldDrift("/spec/replicas", "4", "8"), drift.Fields.Single());

        // Applying the weight again sizes the canary from the autoscaler's 8 and never scales stable back to 4.
        var planned = await router.PlanSetCanaryWeightAsync(50);
        Assert.Single(planned);
        Assert.Contains("sized from the 8 stable replicas HorizontalPodAutoscaler api runs", planned[0].Description);
        await router.SetCanaryWeightAsync(50);
        Assert.Equal(8, Replicas(cluster, "api-canary"));
        Assert.Equal(8, Replicas(cluster, "api"));
        Assert.Null(await router.DetectDriftAsync(new TrafficSplit(50, 50, [], "written")));

        // Clean-up leaves stable's count to the autoscaler too.
        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        Assert.Equal(8, Replicas(cluster, "api"));
    }

    /// <summary>Issue #26 item 9 without a mesh: a stable deleted mid-rollout is the engine's StableMissing pause, and no replica moves.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_deleted_stable_is_reported_as_missing_stable_and_the_canary_is_not_scaled(bool hpa)
    {
        var (cluster, router) = await SetUpAsync(hpa);
        await router.SetCanaryWeightAsync(25);
        var canary = Replicas(cluster, "api-canary");
        await cluster.DeleteAsync(ResourceType.Deployment, "d", "api");
        var writes = cluster.Writes.Count;

        var missing = await Assert.ThrowsAsync<StableDeploymentMissingException>(() => router.SetCanaryWeightAsync(50));
        Assert.Equal("api", missing.Deployment);
        Assert.Contains("spec.stable.deployment", missing.Message);
        await Assert.ThrowsAsync<StableDeploymentMissingException>(() => router.DetectDriftAsync(new TrafficSplit(75, 25, [], "written")));
        await Assert.ThrowsAsync<StableDeploymentMissingException>(() => router.GetSplitAsync());
        Assert.Equal(writes, cluster.Writes.Count);
        Assert.Equal(canary, Replicas(cluster, "api-canary"));
    }

    [Fact]
    public async Task Below_the_autoscalers_minimum_the_canary_is_sized_for_the_minimum()
    {
        var (cluster, router) = await SetUpAsync(hpa: true);
        await ScaleStable(cluster, 2);
        var planned = await router.PlanSetCanaryWeightAsync(50);
        Assert.Equal(3, planned[0].Body!["spec"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task Without_an_autoscaler_stable_keeps_the_count_it_had_at_the_start()
    {
        var (cluster, router) = await SetUpAsync(hpa: false);
        await router.SetCanaryWeightAsync(50);
        await ScaleStable(cluster, 8);
        await router.SetCanaryWeightAsync(50);
        Assert.Equal(4, Replicas(cluster, "api"));
        Assert.Equal(4, Replicas(cluster, "api-canary"));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public async Task A_weight_change_interrupted_at_any_write_is_finished_by_the_next_attempt(int write, bool afterApply)
    {
        var (cluster, router) = await SetUpAsync(hpa: true);
        await router.SetCanaryWeightAsync(50);
        await ScaleStable(cluster, 8);

        // Writes: the canary's scale, then the stable count it was sized for (on the canary).
        cluster.FailWriteNumber(write, afterApply);
        await Assert.ThrowsAnyAsync<Exception>(() => router.SetCanaryWeightAsync(50));

        await router.SetCanaryWeightAsync(50);
        Assert.Equal(8, Replicas(cluster, "api-canary"));
        Assert.Equal(8, Replicas(cluster, "api"));
        Assert.Null(await router.DetectDriftAsync(new TrafficSplit(50, 50, [], "written")));
    }
}
