using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Issue #26 item 9: an object the rollout depends on is deleted while it runs.</summary>
public class LostObjectsTests
{
    private static async Task<(SandboxEnvironment Env, KubesteadService Service)> RunningAtTwentyAsync()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var svc = env.CreateService(NullRolloutObserver.Instance, "driver");
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        var weighted = await Task.Run(() => svc.SetWeightAsync(ShopFixture.Namespace, "shop", 20));
        Assert.Equal(20, weighted.CanaryWeight);
        return (env, svc);
    }

    private static JsonNode RouteWeights(SandboxEnvironment env) =>
        env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, "shop")!["spec"]!.DeepClone();

    [Fact]
    public async Task A_deleted_stable_Deployment_pauses_with_its_reason_keeps_the_canarys_share_and_resume_after_restoring_it_continues()
    {
        var (env, svc) = await RunningAtTwentyAsync();
        await using var _ = svc;
        var stable = env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop")!;
        var routesBefore = RouteWeights(env);
        await env.Cluster.DeleteAsync(ResourceType.Deployment, ShopFixture.Namespace, "shop");

        var paused = await Task.Run(() => svc.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.True(paused.Phase == RolloutPhase.Paused, $"{paused.Phase}: {paused.Message}");
        Assert.Equal(PauseReason.StableMissing, paused.PauseReason);
        Assert.Contains("Deployment shop", paused.Message);
        Assert.Equal(20, paused.CanaryWeight);
        // Fail-safe: the canary keeps its share and no more; nothing was written to the route.
        Assert.True(JsonNode.DeepEquals(routesBefore, RouteWeights(env)), $"route changed: {RouteWeights(env).ToJsonString()}");
        var status = await svc.GetAsync(ShopFixture.Namespace, "shop");
        Assert.Equal(PauseReason.StableMissing, status.PauseReason);
        Assert.Contains("Restore Deployment shop", status.Message);

        // Resuming while it is still gone is refused, naming it, and writes nothing.
        var writes = env.Cluster.Writes.Count;
        var refused = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true)));
        Assert.Contains("spec.stable.deployment", refused.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        // kubectl apply of its manifest again: resume continues to the end.
        var restored = stable.DeepClone().AsObject();
        var metadata = restored["metadata"]!.AsObject();
        foreach (var key in new[] { "resourceVersion", "uid", "creationTimestamp", "generation" }) metadata.Remove(key);
        restored.Remove("status");
        await env.Cluster.CreateAsync(ResourceType.Deployment, ShopFixture.Namespace, restored);
        var done = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase} {done.PauseReason}: {done.Message}");
    }
}
