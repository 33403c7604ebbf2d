using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #25 item 6: a stable Deployment below its minimum availability (1 of 4 ready) is no control and no rollback
/// target: validate and start refuse, naming it and its ready/desired counts, and start writes nothing.
/// </summary>
public class DegradedStableTests
{
    private static Task SetReadyAsync(SandboxEnvironment env, int ready) =>
        env.Cluster.PatchSubresourceAsync(ResourceType.Deployment, ShopFixture.Namespace, ShopFixture.Name, "status",
            new MergePatch(new JsonObject { ["status"] = new JsonObject { ["updatedReplicas"] = ShopFixture.StableReplicas(env.Mesh), ["readyReplicas"] = ready, ["availableReplicas"] = ready } }));

    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("none")]
    public async Task A_stable_with_most_pods_down_is_refused_naming_the_Deployment_and_counts_and_nothing_is_written(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        await SetReadyAsync(env, 1);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var desired = ShopFixture.StableReplicas(mesh);
        var writes = env.Cluster.Writes.Count;
        var before = StartTransactionTests.Snapshot(env.Cluster);

        var report = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, checkCluster: true);
        var failed = Assert.Single(report.Checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.Equal("stable", failed.Check);
        Assert.StartsWith($"spec.stable.deployment: deployments.apps/shop in namespace shop has 1 of {desired} pods ready", failed.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: true)));
        Assert.Equal("StableDegraded", e.ErrorId);
        Assert.Equal(KubesteadErrorKind.InvalidState, e.Kind);
        Assert.Contains($"has 1 of {desired} pods ready", e.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);
        StartTransactionTests.AssertSameObjects(before, StartTransactionTests.Snapshot(env.Cluster), "after a refused start");
    }

    [Fact]
    public async Task A_stable_within_its_maxUnavailable_starts()
    {
        // 3 of 4 ready is what the Deployment's own 25% maxUnavailable allows during a node drain: not worth refusing.
        var env = SandboxEnvironment.Create("istio", "healthy");
        await SetReadyAsync(env, 3);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var report = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, checkCluster: true);
        Assert.True(report.IsValid, string.Join("\n", report.Checks));
        Assert.Contains(report.Checks, c => c.Check == "stable" && c.Message == "Deployment shop has 3 of 4 pods ready (minimum availability 3)");
    }
}
