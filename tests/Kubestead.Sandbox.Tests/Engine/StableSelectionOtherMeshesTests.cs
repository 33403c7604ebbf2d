using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #25, noticed after item 1: the Service check looks at the canary side without a mesh (the Service must select
/// the canary pods, or the canary gets nothing), and linkerd1's stable Service must not select them (it would).
/// </summary>
public class StableSelectionOtherMeshesTests
{
    private static async Task<(CheckOutcome Outcome, string Message, KubesteadException Start, bool Unchanged)> RefusedAsync(string mesh, JsonObject selector)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        await env.Cluster.PatchAsync(ResourceType.Service, ShopFixture.Namespace, ShopFixture.Name,
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["selector"] = selector } }));
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var before = StartTransactionTests.Snapshot(env.Cluster);
        var writes = env.Cluster.Writes.Count;
        var report = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, checkCluster: true);
        var failed = Assert.Single(report.Checks, c => c.Outcome == CheckOutcome.Failed);
        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: true)));
        return (failed.Outcome, failed.Message, e, writes == env.Cluster.Writes.Count && before.SequenceEqual(StartTransactionTests.Snapshot(env.Cluster)));
    }

    [Fact]
    public async Task Without_a_mesh_a_Service_pinned_to_stables_version_is_refused_naming_it_as_the_canary_would_get_nothing()
    {
        var (_, message, e, unchanged) = await RefusedAsync("none", new JsonObject { ["app"] = "shop", ["version"] = "stable" });
        Assert.StartsWith("spec.service: services/shop in namespace shop does not select the canary pods (spec.selector version=stable", message);
        Assert.Contains("remove version from its spec.selector", message);
        Assert.Equal("ServiceSelectsNoCanaryPods", e.ErrorId);
        Assert.True(unchanged);
    }

    [Fact]
    public async Task With_linkerd1_a_stable_Service_that_also_selects_the_canary_pods_is_refused()
    {
        var (_, message, e, unchanged) = await RefusedAsync("linkerd1", new JsonObject { ["app"] = "shop", ["version"] = null });
        Assert.StartsWith("spec.service: services/shop in namespace shop also selects the pods labelled version=canary", message);
        Assert.Equal("StableServiceSelectsOtherPods", e.ErrorId);
        Assert.True(unchanged);
    }
}
