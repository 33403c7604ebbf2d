using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;


namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>Issue #19 on the real API server: what Kubernetes itself does to templates, scale and deletes matters here.</summary>
public class RealClusterLifecycleTests
{
    private const string PauseAtHalf = "    - setWeight: 50\n    - pause: {}";

    private static string Image(JsonObject d) => d["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    private static JsonArray? Env(JsonObject d) => d["spec"]!["template"]!["spec"]!["containers"]![0]!["env"] as JsonArray;

    [RealClusterFact]
    public async Task A_hotfix_on_stable_mid_rollout_pauses_with_drift_and_is_never_overwritten()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", PauseAtHalf, "  scaleDownDelay: 0s");
        await using (var svc = env.Service())
        {
            var paused = await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);
            Assert.Equal(PauseReason.Manual, paused.PauseReason);
        }

        // kubectl set image deploy/shop app=...:2.0.1-hotfix; kubectl set env deploy/shop FEATURE_X=on
        await env.Api.PatchAsync(ResourceType.Deployment, env.Namespace, "shop", new JsonPatch([
            JsonPatchOperation.Replace("/spec/template/spec/containers/0/image", "registry.example.com/shop:2.0.1-hotfix"),
            JsonPatchOperation.Add("/spec/template/spec/containers/0/env", new JsonArray(new JsonObject { ["name"] = "FEATURE_X", ["value"] = "on" })),
        ]));

        RolloutResult drift;
        await using (var svc = env.Service())
            drift = await svc.ResumeAsync(env.Namespace, "shop", wait: true);
        Assert.Equal(RolloutPhase.Paused, drift.Phase);
        Assert.Equal(PauseReason.Drift, drift.PauseReason);
        Assert.Contains("2.0.1-hotfix", drift.Message);
        Assert.Contains("FEATURE_X", drift.Message);
        var stable = await env.GetDeploymentAsync("shop");
        Assert.Equal("registry.example.com/shop:2.0.1-hotfix", Image(stable));

        // Resuming rebuilds the canary from the hotfixed template and runs the steps again (to the manual pause).
        await using (var svc = env.Service())
        {
            var restarted = await svc.ResumeAsync(env.Namespace, "shop", wait: true);
            Assert.Equal(PauseReason.Manual, restarted.PauseReason);
            Assert.Contains(restarted.History, h => h.Kind == "restart");
            var canary = await env.GetDeploymentAsync("shop-canary");
            Assert.Equal("registry.example.com/shop:2.0.0", Image(canary));
            Assert.Equal("on", Env(canary)?.Single(e => e!["name"]!.GetValue<string>() == "FEATURE_X")!["value"]!.GetValue<string>());
            var done = await svc.ResumeAsync(env.Namespace, "shop", wait: true);
            Assert.Equal(RolloutPhase.Completed, done.Phase);
        }
        stable = await env.GetDeploymentAsync("shop");
        Assert.Equal("registry.example.com/shop:2.0.0", Image(stable));
        Assert.Equal("on", Env(stable)?.Single()!["value"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Promotion_carries_the_canary_templates_labels_and_annotations_but_keeps_stables_version_label()
    {
        var stableAnnotations = new JsonObject { ["checksum/config"] = "old", ["prometheus.io/scrape"] = "true" };
        await using var env = await RealClusterLifecycle.CreateAsync(podAnnotations: stableAnnotations);
        var v2 = RealClusterLifecycle.Deployment("shop-v2", "canary", "registry.example.com/shop:2.0.0", 3,
            new JsonObject { ["checksum/config"] = "new", ["prometheus.io/scrape"] = "true", ["vault.hashicorp.com/agent-inject"] = "true" });
        v2["spec"]!["template"]!["metadata"]!["labels"]!["team"] = "payments";
        await env.Api.CreateAsync(ResourceType.Deployment, env.Namespace, v2);
        var spec = env.Spec("{ deployment: shop-v2 }", "    - setWeight: 50", "  scaleDownDelay: 0s");

        await using (var svc = env.Service())
            Assert.Equal(RolloutPhase.Completed, (await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true)).Phase);

        var stable = await env.GetDeploymentAsync("shop");
        var meta = stable["spec"]!["template"]!["metadata"]!;
        Assert.Equal("new", meta["annotations"]!["checksum/config"]!.GetValue<string>());
        Assert.Equal("true", meta["annotations"]!["vault.hashicorp.com/agent-inject"]!.GetValue<string>());
        Assert.Equal("payments", meta["labels"]!["team"]!.GetValue<string>());
        Assert.Equal("stable", meta["labels"]!["version"]!.GetValue<string>());
        Assert.Equal("registry.example.com/shop:2.0.0", Image(stable));
        // The user's canary Deployment stays (it is theirs) but runs no pods once traffic has left it.
        var canary = await env.GetDeploymentAsync("shop-v2");
        Assert.Equal(0, canary["spec"]!["replicas"]!.GetValue<int>());
    }

    [RealClusterFact]
    public async Task The_canary_is_kept_for_scaleDownDelay_after_traffic_leaves_it()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50", "  scaleDownDelay: 3s");
        var seenAfterTrafficLeft = false;
        await using var svc = env.Service();
        var run = Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        // Watch from outside: once the state says the canary's removal is due, the canary must still exist.
        while (!run.IsCompleted)
        {
            var cm = await env.Api.ListAsync(ResourceType.ConfigMap, env.Namespace);
            if (cm.Items.FirstOrDefault(c => c["metadata"]!["name"]!.GetValue<string>() == "kubestead-shop")?["data"]?["status.json"]?.GetValue<string>().Contains("canaryRemovalDueAt") == true
                && await env.TryGetDeploymentAsync("shop-canary") is not null) seenAfterTrafficLeft = true;
            await Task.Delay(200);
        }
        var result = await run;
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.True(seenAfterTrafficLeft, "the canary was gone as soon as traffic left it");
        var kept = result.History.Single(h => h.Kind == "scaleDownDelay");
        Assert.True(result.FinishedAt - kept.At >= TimeSpan.FromSeconds(3), $"removed {result.FinishedAt - kept.At} after traffic left");
        Assert.Null(await env.TryGetDeploymentAsync("shop-canary"));
    }

    [RealClusterFact]
    public async Task Ci_reruns_attach_refuse_another_version_replace_on_request_and_skip_the_running_version()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        string SpecFor(string version) => env.Spec($"{{ image: registry.example.com/shop:{version} }}", "    - setWeight: 50", "  scaleDownDelay: 0s");
        async Task<string> StateVersionAsync() =>
            (await env.Api.GetAsync(ResourceType.ConfigMap, env.Namespace, "kubestead-shop"))["metadata"]!["resourceVersion"]!.GetValue<string>();

        await using var svc = env.Service();
        // The first CI job records the rollout and dies; the re-run with the same spec attaches and drives it to the end.
        Assert.Equal(RolloutPhase.Progressing, (await svc.StartAsync(new StartRequest { SpecYaml = SpecFor("2.0.0") }, wait: false)).Phase);
        var attached = await svc.StartAsync(new StartRequest { SpecYaml = SpecFor("2.0.0") }, wait: true);
        Assert.Equal(RolloutPhase.Completed, attached.Phase);
        Assert.Single(attached.History, h => h.Kind == "start");
        Assert.Equal("registry.example.com/shop:2.0.0", Image(await env.GetDeploymentAsync("shop")));

        // Re-running after completion: stable runs that version already; nothing is written, no canary appears.
        var before = await StateVersionAsync();
        var again = await svc.StartAsync(new StartRequest { SpecYaml = SpecFor("2.0.0") }, wait: true);
        Assert.Equal(RolloutPhase.Completed, again.Phase);
        Assert.StartsWith("already at this version", again.Message);
        Assert.Equal(before, await StateVersionAsync());
        Assert.Null(await env.TryGetDeploymentAsync("shop-canary"));

        // A new version starts and keeps the earlier rollout's history.
        var next = await svc.StartAsync(new StartRequest { SpecYaml = SpecFor("2.1.0") }, wait: false);
        Assert.Equal(RolloutPhase.Progressing, next.Phase);
        Assert.Contains(next.History, h => h.Kind == "complete");

        // A third version while 2.1.0 runs: refused with its own error, nothing written; replaced when asked.
        before = await StateVersionAsync();
        var conflict = await Assert.ThrowsAsync<RolloutVersionConflictException>(() => svc.StartAsync(new StartRequest { SpecYaml = SpecFor("2.2.0") }, wait: true));
        Assert.Contains("2.1.0", conflict.Message);
        Assert.Equal(before, await StateVersionAsync());
        var replaced = await svc.StartAsync(new StartRequest { SpecYaml = SpecFor("2.2.0"), Replace = true }, wait: true);
        Assert.Equal(RolloutPhase.Completed, replaced.Phase);
        Assert.Contains(replaced.History, h => h.Kind == "abort");
        Assert.Equal("registry.example.com/shop:2.2.0", Image(await env.GetDeploymentAsync("shop")));
        Assert.True(replaced.History.Count <= RolloutStatus.MaxHistory);
    }
}
