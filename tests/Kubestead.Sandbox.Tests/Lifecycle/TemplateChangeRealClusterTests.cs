using System.Text.Json.Nodes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;

namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>Issue #19 item 7 on the real API server: promotion carries the patched template as Kubernetes stored it.</summary>
public class TemplateChangeRealClusterTests
{
    private static JsonObject App(JsonObject d) => d["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();

    [RealClusterFact]
    public async Task Promotion_carries_the_patched_template_and_a_rerun_finds_it_already_there()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        const string canary = """{ image: "registry.example.com/shop:2.0.0", templatePatch: { metadata: { annotations: { checksum/config: new } }, spec: { containers: [ { name: app, env: [ { name: FEATURE_X, value: "on" } ], resources: { requests: { cpu: 250m }, limits: { memory: 512Mi } }, readinessProbe: { httpGet: { path: /ready, port: 8080 }, periodSeconds: 5 } } ] } } }""";
        var spec = env.Spec(canary, "    - setWeight: 50\n    - pause: {}", "  scaleDownDelay: 0s");

        await using (var svc = env.Service())
        {
            var paused = await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);
            Assert.Equal(PauseReason.Manual, paused.PauseReason);
            var canaryDeployment = await env.GetDeploymentAsync("shop-canary");
            Assert.Equal("on", App(canaryDeployment)["env"]![0]!["value"]!.GetValue<string>());
            Assert.Equal(RolloutPhase.Completed, (await svc.ResumeAsync(env.Namespace, "shop", wait: true)).Phase);
        }

        var stable = await env.GetDeploymentAsync("shop");
        var app = App(stable);
        Assert.Equal("registry.example.com/shop:2.0.0", app["image"]!.GetValue<string>());
        Assert.Equal("FEATURE_X", app["env"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("512Mi", app["resources"]!["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("250m", app["resources"]!["requests"]!["cpu"]!.GetValue<string>());
        Assert.Equal("/ready", app["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("new", stable["spec"]!["template"]!["metadata"]!["annotations"]!["checksum/config"]!.GetValue<string>());
        Assert.Equal("stable", stable["spec"]!["template"]!["metadata"]!["labels"]!["version"]!.GetValue<string>());
        Assert.Null(await env.TryGetDeploymentAsync("shop-canary"));

        // The server defaulted the template's fields (imagePullPolicy, terminationMessagePath, ...): the re-run still
        // sees that stable runs the whole change.
        var resourceVersion = stable["metadata"]!["resourceVersion"]!.GetValue<string>();
        await using (var svc = env.Service())
        {
            var again = await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);
            Assert.Contains("already at this version", again.Message);
        }
        Assert.Equal(resourceVersion, (await env.GetDeploymentAsync("shop"))["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task A_manifest_with_two_containers_becomes_stables_template_at_promotion()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        const string canary = """{ manifest: { apiVersion: apps/v1, kind: Deployment, metadata: { name: shop }, spec: { selector: { matchLabels: { app: shop } }, template: { metadata: { labels: { app: shop } }, spec: { containers: [ { name: app, image: "registry.example.com/shop:2.0.0", env: [ { name: MODE, value: fast } ] }, { name: log-shipper, image: "registry.example.com/log-shipper:1.0" } ] } } } } }""";
        var spec = env.Spec(canary, "    - setWeight: 50", "  scaleDownDelay: 0s");

        await using (var svc = env.Service())
            Assert.Equal(RolloutPhase.Completed, (await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true)).Phase);

        var stable = await env.GetDeploymentAsync("shop");
        var containers = stable["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        Assert.Equal(["app", "log-shipper"], containers.Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal("fast", containers[0]!["env"]![0]!["value"]!.GetValue<string>());
        Assert.Equal("stable", stable["spec"]!["template"]!["metadata"]!["labels"]!["version"]!.GetValue<string>());
    }
}
