using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Demo;
using Kubestead.Traffic;

namespace Kubestead.Cli.Tests;

/// <summary>Issue #19 item 12 through the CLI: without a mesh, status shows the canary's real share of ready pods beside the weight.</summary>
public class EffectiveShareCliTests
{
    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task Status_reports_the_effective_share_when_an_autoscaler_changed_stable_under_the_split()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        env.Cluster.Seed(HpaGuard.HorizontalPodAutoscaler, JsonNode.Parse("""
            {"metadata":{"name":"shop","namespace":"shop"},
             "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"shop"},"minReplicas":9,"maxReplicas":30}}
            """)!.AsObject());
        var spec = Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(spec, """
            apiVersion: kubestead.io/v1alpha1
            kind: Rollout
            metadata: { name: shop, namespace: shop }
            spec:
              service: shop
              meshProvider: none
              stable: { deployment: shop }
              canary: { image: registry.example.com/shop:2.0.0 }
              steps:
                - setWeight: 50
                - pause: {}
            """);
        Assert.Equal(4, (await Run(env, "start", "-f", spec)).Code);

        var json = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!;
        Assert.Equal(50, json["effectiveShare"]!["canaryPercent"]!.GetValue<double>());

        // The autoscaler doubles stable: the weight still says 50%, the pods say a third.
        await env.Cluster.PatchSubresourceAsync(ResourceType.Deployment, "shop", "shop", "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 18 } }));
        ((Kubestead.Sandbox.VirtualClock)env.Clock).Advance(TimeSpan.FromMinutes(1));

        json = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!;
        Assert.Equal(50, json["weights"]!["canary"]!.GetValue<double>());
        Assert.Equal(33.333, json["effectiveShare"]!["canaryPercent"]!.GetValue<double>());
        Assert.Equal(9, json["effectiveShare"]!["canaryReadyPods"]!.GetValue<int>());
        Assert.Equal(18, json["effectiveShare"]!["stableReadyPods"]!.GetValue<int>());
        var text = (await Run(env, "status", "shop", "-n", "shop")).Out;
        Assert.Contains("Share: canary 33.3% of ready pods (9 canary, 18 stable); Kubestead set 50%", text);

        // Driven again, the rollout pauses with Drift naming stable's replicas; resuming sizes the canary from the
        // autoscaler's 18 replicas, and stable is not scaled back.
        // (resume drives until a pause; wait would go on judging the drift-paused canary until someone resumes it, issue #26 item 3.)
        var drift = await Run(env, "resume", "shop", "-n", "shop", "-o", "json");
        Assert.Equal(4, drift.Code);
        Assert.Equal("drift", JsonNode.Parse(drift.Out)!["pauseReason"]!.GetValue<string>());
        Assert.Contains("/spec/replicas", JsonNode.Parse(drift.Out)!["message"]!.GetValue<string>());
        Assert.Equal(0, (await Run(env, "resume", "shop", "-n", "shop", "--no-wait")).Code);
        json = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!;
        Assert.Equal(50, json["effectiveShare"]!["canaryPercent"]!.GetValue<double>());
        Assert.Equal(18, json["effectiveShare"]!["canaryReadyPods"]!.GetValue<int>());
        Assert.Equal(18, env.Cluster.Peek(ResourceType.Deployment, "shop", "shop")!["spec"]!["replicas"]!.GetValue<int>());
    }
}
