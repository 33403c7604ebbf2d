using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>Issue #19 item 7 on the sandbox: a canary that changes env, resources and two containers, promoted end to end.</summary>
public class TemplateChangeTests
{
    private const string Canary = """
          canary:
            image: registry.example.com/shop:2.0.0
            templatePatch:
              metadata:
                annotations: { checksum/config: new }
              spec:
                containers:
                  - name: app
                    env:
                      - { name: FEATURE_X, value: "on" }
                      - { name: LEGACY, $patch: delete }
                    resources: { requests: { cpu: 250m }, limits: { memory: 512Mi } }
                  - name: proxy
                    image: registry.example.com/proxy:3.2
                    resources: { limits: { cpu: 500m } }

        """;

    private static JsonObject Container(JsonObject deployment, string name) =>
        deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!.AsObject();

    [Fact]
    public async Task A_canary_changing_env_resources_and_two_containers_is_promoted_whole_into_stable()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        // Stable runs two containers; the app has an env entry the canary removes.
        await env.Cluster.PatchAsync(ResourceType.Deployment, ShopFixture.Namespace, ShopFixture.Name, new JsonPatch([
            JsonPatchOperation.Add("/spec/template/spec/containers/0/env", new JsonArray(new JsonObject { ["name"] = "LEGACY", ["value"] = "1" })),
            JsonPatchOperation.Add("/spec/template/spec/containers/-", new JsonObject { ["name"] = "proxy", ["image"] = "registry.example.com/proxy:3.1" }),
        ]));
        var spec = SandboxDemoTests.SpecFor("none").Replace("  canary:\n    image: registry.example.com/shop:2.0.0\n", Canary)
            .Replace("  policies:", "  scaleDownDelay: 0s\n  policies:");
        Assert.Contains("templatePatch", spec);

        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);

        var stable = await env.Cluster.GetAsync(ResourceType.Deployment, ShopFixture.Namespace, ShopFixture.Name);
        var app = Container(stable, "app");
        Assert.Equal("registry.example.com/shop:2.0.0", app["image"]!.GetValue<string>());
        Assert.Equal("on", app["env"]!.AsArray().Single()!["value"]!.GetValue<string>());
        Assert.Equal("FEATURE_X", app["env"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("512Mi", app["resources"]!["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("250m", app["resources"]!["requests"]!["cpu"]!.GetValue<string>());
        var proxy = Container(stable, "proxy");
        Assert.Equal("registry.example.com/proxy:3.2", proxy["image"]!.GetValue<string>());
        Assert.Equal("500m", proxy["resources"]!["limits"]!["cpu"]!.GetValue<string>());
        var meta = stable["spec"]!["template"]!["metadata"]!;
        Assert.Equal("new", meta["annotations"]!["checksum/config"]!.GetValue<string>());
        Assert.Equal("stable", meta["labels"]!["version"]!.GetValue<string>());

        // The same spec again: stable already runs the whole change, so nothing is rolled out or written.
        var writes = env.Cluster.Writes.Count;
        var again = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(RolloutPhase.Completed, again.Phase);
        Assert.Contains("already at this version", again.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        // Another change on the same image is another version: it is rolled out.
        var other = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec.Replace("value: \"on\"", "value: \"off\"") }, wait: false));
        Assert.Equal(RolloutPhase.Progressing, other.Phase);
    }
}
