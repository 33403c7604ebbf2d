using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #26 item 7: a hotfix applied to stable mid-rollout pauses the rollout for drift; the canary, built from the old
/// template, must not keep serving its share without the fix while the rollout waits for a person.
/// </summary>
public class StableHotfixDriftTests
{
    private static double CanaryShare(SandboxEnvironment env) => ShopFixture.Reader(env.Cluster, env.Mesh)().CanaryShare;

    [Fact]
    public async Task A_hotfix_on_stable_returns_the_canarys_share_to_stable_and_says_so()
    {
        const string mesh = "istio";
        var env = SandboxEnvironment.Create(mesh, "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance, "driver");
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: false));
        var weighted = await Task.Run(() => svc.SetWeightAsync(ShopFixture.Namespace, "shop", 20));
        Assert.True(weighted.CanaryWeight > 0 && CanaryShare(env) > 0, $"canary at {weighted.CanaryWeight}%");

        // kubectl set env deploy/shop HOTFIX=1
        await env.Cluster.PatchAsync(ResourceType.Deployment, ShopFixture.Namespace, "shop", new JsonPatch([
            JsonPatchOperation.Add("/spec/template/spec/containers/0/env", new JsonArray(new JsonObject { ["name"] = "HOTFIX", ["value"] = "1" })),
        ]));

        var paused = await Task.Run(() => svc.WaitAsync(ShopFixture.Namespace, "shop", null, throughPauses: false));
        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        Assert.Equal(PauseReason.Drift, paused.PauseReason);
        Assert.Equal(0, paused.CanaryWeight);
        Assert.Equal(0, CanaryShare(env));
        Assert.Contains("HOTFIX", paused.Message);
        Assert.Contains("went back to stable", paused.Message);
        Assert.Contains(paused.History, h => h.Kind == "holdTraffic" && h.Message.Contains("went back to stable", StringComparison.Ordinal) && h.CanaryWeight == 0);
        // Stable keeps the hotfix: nothing of it was overwritten.
        var stable = env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop")!;
        Assert.Equal("HOTFIX", stable["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]![0]!["name"]!.GetValue<string>());

        // Resume rebuilds the canary from the hotfixed template and runs the steps to the end.
        var done = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase} {done.PauseReason}: {done.Message}");
    }
}
