using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Traffic;


namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>Issue #19 item 12 on the real API server: an HPA-managed stable Deployment without a mesh.</summary>
public class HpaRealClusterTests
{
    private static JsonObject Hpa(int min, int max) => JsonNode.Parse("""
        {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"shop"},
         "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"shop"},"minReplicas":MIN,"maxReplicas":MAX,
                 "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}]}}
        """.Replace("MIN", min.ToString(System.Globalization.CultureInfo.InvariantCulture)).Replace("MAX", max.ToString(System.Globalization.CultureInfo.InvariantCulture)))!.AsObject();

    [RealClusterFact]
    public async Task Keep_total_is_refused_for_a_stable_deployment_an_hpa_scales_and_nothing_is_written()
    {
        await using var env = await RealClusterLifecycle.CreateAsync(stableReplicas: 4);
        await env.Api.CreateAsync(HpaGuard.HorizontalPodAutoscaler, env.Namespace, Hpa(4, 10));
        var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50", "  scaleDownDelay: 0s")
            .Replace("none: { readyTimeout: 60s }", "none: { readyTimeout: 60s, capacity: keepTotal }");
        Assert.Contains("keepTotal", spec);
        await using var svc = env.Service();
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Contains("HorizontalPodAutoscaler shop", e.Message);
        Assert.Contains("keepStable", e.Message);
        Assert.DoesNotContain((await env.Api.ListAsync(ResourceType.ConfigMap, env.Namespace)).Items, c => c["metadata"]!["name"]!.GetValue<string>() == "kubestead-shop");
        Assert.Null(await env.TryGetDeploymentAsync("shop-canary"));
    }

    private static async Task<bool> IsPausingAsync(KubesteadService svc, string ns)
    {
        try
        {
            return (await svc.GetAsync(ns, "shop")).StepIndex == 1;
        }
        catch (RolloutNotFoundException)
        {
            return false;
        }
    }

    [RealClusterFact]
    public async Task Stable_replicas_changing_under_a_mesh_free_split_pause_with_drift()
    {
        await using var env = await RealClusterLifecycle.CreateAsync(stableReplicas: 2);
        var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50\n    - pause: { duration: 60s }", "  scaleDownDelay: 0s");
        await using var svc = env.Service();
        var run = Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        // Once the 50% step is applied (canary 2 of 4 pods), an HPA (or a person) scales stable to 4: the real share is 33%.
        await using (var watcher = env.Service("watcher"))
            while (!run.IsCompleted && !await IsPausingAsync(watcher, env.Namespace))
                await Task.Delay(200);
        await env.Api.PatchSubresourceAsync(ResourceType.Deployment, env.Namespace, "shop", "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 4 } }));
        var result = await run.WaitAsync(TimeSpan.FromSeconds(50));
        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.Drift, result.PauseReason);
        Assert.Contains("deployments.apps/shop ", result.Message);
        Assert.Contains("/spec/replicas is 4", result.Message);
    }

    [RealClusterFact]
    public async Task With_an_hpa_the_canary_follows_its_replicas_and_status_shows_the_effective_share()
    {
        await using var env = await RealClusterLifecycle.CreateAsync(stableReplicas: 2);
        await env.Api.CreateAsync(HpaGuard.HorizontalPodAutoscaler, env.Namespace, Hpa(2, 10));
        var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50\n    - pause: { duration: 60s }", "  scaleDownDelay: 0s");
        await using var svc = env.Service();
        var run = Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        await using (var watcher = env.Service("watcher"))
            while (!run.IsCompleted && !await IsPausingAsync(watcher, env.Namespace))
                await Task.Delay(200);
        Assert.Equal(2, (await env.GetDeploymentAsync("shop-canary"))["spec"]!["replicas"]!.GetValue<int>());

        // The autoscaler scales stable to 4 (as the HPA controller writes it: through the scale subresource).
        await env.Api.PatchSubresourceAsync(ResourceType.Deployment, env.Namespace, "shop", "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 4 } }));
        var drift = await run.WaitAsync(TimeSpan.FromSeconds(50));
        Assert.Equal(PauseReason.Drift, drift.PauseReason);
        Assert.Contains("/spec/replicas is 4", drift.Message);

        var status = await svc.GetAsync(env.Namespace, "shop");
        for (var i = 0; i < 100 && status.Effective?.StableReadyPods != 4; i++)
        {
            await Task.Delay(100);
            status = await svc.GetAsync(env.Namespace, "shop");
        }
        Assert.Equal(50, status.CanaryWeight);
        Assert.Equal(new EffectiveShare(33.333, 2, 4), status.Effective);

        // Resuming sizes the canary from the autoscaler's 4 and leaves stable at 4; promotion and clean-up do too.
        var resumed = await svc.ResumeAsync(env.Namespace, "shop", wait: false);
        Assert.Equal(RolloutPhase.Progressing, resumed.Phase);
        Assert.Equal(4, (await env.GetDeploymentAsync("shop-canary"))["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(new EffectiveShare(50, 4, 4), (await svc.GetAsync(env.Namespace, "shop")).Effective);
        var done = await svc.WaitAsync(env.Namespace, "shop", TimeSpan.FromSeconds(120));
        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Equal(4, (await env.GetDeploymentAsync("shop"))["spec"]!["replicas"]!.GetValue<int>());
    }
}
