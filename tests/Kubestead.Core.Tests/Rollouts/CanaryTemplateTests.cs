using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Cluster;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Rollouts;

/// <summary>Issue #19 item 7: the canary as any pod-template change (a strategic-merge patch or a whole Deployment).</summary>
public class CanaryTemplateTests
{
    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Rollouts", "golden", name));

    private static JsonObject Json(string text) => JsonNode.Parse(text)!.AsObject();

    private static RolloutSpec ParseValid(string yaml)
    {
        var result = RolloutSpecParser.Parse(yaml);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        return result.Spec!;
    }

    private static string Spec(string canary) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: shop, namespace: web {"}"}
        spec:
          service: shop
          meshProvider: none
          stable: {"{"} deployment: shop {"}"}
          canary:
        {canary}
          steps:
            - setWeight: 50
        """;

    [Fact]
    public void A_strategic_merge_patch_merges_containers_env_volumes_and_mounts_by_key_as_Kubernetes_does()
    {
        var spec = ParseValid(Golden("template-patch.spec.yaml"));
        var stable = Json(Golden("template-patch.stable.json"));
        var before = stable.ToJsonString();

        var merged = PodTemplatePatch.Apply(stable, Json(spec.Canary.TemplatePatch!));

        Assert.True(JsonNode.DeepEquals(Json(Golden("template-patch.expected.json")), merged), merged.ToJsonString(new() { WriteIndented = true }));
        Assert.Equal(before, stable.ToJsonString());
    }

    [Fact]
    public void A_list_item_with_patch_replace_makes_the_list_the_patches()
    {
        var merged = PodTemplatePatch.Apply(
            Json("""{"spec":{"volumes":[{"name":"a","emptyDir":{}},{"name":"b","emptyDir":{}}]}}"""),
            Json("""{"spec":{"volumes":[{"$patch":"replace"},{"name":"c","emptyDir":{}}]}}"""));
        Assert.Equal("""{"spec":{"volumes":[{"name":"c","emptyDir":{}}]}}""", merged.ToJsonString());
    }

    [Fact]
    public void A_patch_and_a_manifest_together_are_refused_naming_the_field()
    {
        var result = RolloutSpecParser.Parse(Spec("""
                templatePatch: { spec: { containers: [ { name: app, image: x:2 } ] } }
                manifest: { apiVersion: apps/v1, kind: Deployment }
            """));
        Assert.Contains(result.Problems, p => p.Field == "spec.canary.manifest" && p.Message.Contains("not both"));
        Assert.Null(result.Spec);
    }

    [Theory]
    [InlineData("    deployment: shop-v2\n    templatePatch: { spec: { containers: [ { name: app } ] } }", "spec.canary.templatePatch", "not both")]
    [InlineData("    templatePatch: { spec: { containers: [ { image: x:2 } ] } }", "spec.canary.templatePatch.spec.containers[0].name", "merged with stable's by name")]
    [InlineData("    templatePatch: { metadata: { labels: { version: blue } } }", "spec.canary.templatePatch.metadata.labels.version", "Kubestead's")]
    [InlineData("    templatePatch: { spec: { containers: [ { name: app } ] }, status: {} }", "spec.canary.templatePatch.status", "unknown field")]
    [InlineData("    manifest: { apiVersion: apps/v1, kind: StatefulSet, spec: { template: { spec: { containers: [ { name: a, image: b } ] } } } }", "spec.canary.manifest.kind", "must be Deployment")]
    [InlineData("    manifest: { apiVersion: apps/v1, kind: Deployment, spec: { template: { spec: { containers: [ { name: a } ] } } } }", "spec.canary.manifest.spec.template.spec.containers[0].image", "required")]
    [InlineData("    manifest: ./no-such-canary.yaml", "spec.canary.manifest", "does not exist")]
    [InlineData("    container: app", "spec.canary.image", "required")]
    [InlineData("    templatePatch: { spec: { containers: [ { name: app, env: [ { name: PORT, value: 8080 } ] } ] } }", "spec.canary.templatePatch.spec.containers[name=app].env[name=PORT].value", "quote it (\"8080\")")]
    [InlineData("    manifest: { apiVersion: apps/v1, kind: Deployment, spec: { template: { spec: { containers: [ { name: a, image: b, env: [ { name: ON, value: true } ] } ] } } } }", "spec.canary.manifest.spec.template.spec.containers[name=a].env[name=ON].value", "as a boolean")]
    public void Bad_template_changes_are_refused_with_the_field_named(string canary, string field, string fragment)
    {
        var result = RolloutSpecParser.Parse(Spec(canary));
        Assert.Null(result.Spec);
        Assert.Contains(result.Problems, p => p.Field == field && p.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void A_manifest_file_is_read_relative_to_the_spec_and_inlined_for_storage()
    {
        var dir = Directory.CreateTempSubdirectory("kubestead-manifest-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "canary.yaml"), """
                apiVersion: apps/v1
                kind: Deployment
                metadata: { name: shop-v2 }
                spec:
                  selector: { matchLabels: { app: shop } }
                  template:
                    metadata: { labels: { app: shop } }
                    spec:
                      containers:
                        - { name: app, image: "registry.example.com/shop:2.0.0", env: [ { name: PORT, value: "8080" } ] }
                """);
            var specPath = Path.Combine(dir.FullName, "rollout.yaml");
            var yaml = Spec("    manifest: canary.yaml");
            File.WriteAllText(specPath, yaml);

            var fromFile = RolloutSpecParser.ParseFile(specPath);
            Assert.True(fromFile.IsValid, string.Join("\n", fromFile.Problems));
            var manifest = Json(fromFile.Spec!.Canary.Manifest!);
            Assert.Equal("8080", manifest["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]![0]!["value"]!.GetValue<string>());

            // The stored copy needs no file: another machine parses the same canary from it.
            var stored = RolloutSpecParser.InlineManifest(yaml, specPath);
            Assert.DoesNotContain("canary.yaml", stored);
            var reparsed = ParseValid(stored);
            Assert.Equal(fromFile.Spec.Canary, reparsed.Canary);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static JsonObject StableDeployment() => Json("""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"shop","namespace":"web","labels":{"app":"shop"}},
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"shop","version":"stable"}},
                 "template":{"metadata":{"labels":{"app":"shop","version":"stable"}},
                             "spec":{"containers":[{"name":"app","image":"registry.example.com/shop:1.9.0",
                                                    "env":[{"name":"LOG_LEVEL","value":"info"}]},
                                                   {"name":"proxy","image":"registry.example.com/proxy:3.1"}]}}}}
        """);

    private static (CanaryWorkload Workload, EmulatedCluster Cluster) Workload(string canaryYaml)
    {
        var spec = ParseValid(Spec(canaryYaml));
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Namespace, Json("""{"metadata":{"name":"web"}}"""));
        cluster.Seed(ResourceType.Deployment, StableDeployment());
        var runtime = new RuntimeFactory(cluster, TimeProvider.System, (_, _) => (_, _, _) => throw new NotSupportedException()).Create(spec);
        return (runtime.Workload, cluster);
    }

    [Theory]
    [InlineData("    templatePatch: { spec: { containers: [ { name: sidecar, image: x:1 } ] } }", "spec.canary.templatePatch.spec.containers[name=sidecar]: Deployment shop has no container 'sidecar' (it has: app, proxy)")]
    [InlineData("    templatePatch: { spec: { initContainers: [ { name: migrate, image: x:1 } ] } }", "spec.canary.templatePatch.spec.initContainers[name=migrate]: Deployment shop has no init container 'migrate'")]
    [InlineData("    templatePatch: { metadata: { labels: { app: shop2 } } }", "spec.canary.templatePatch.metadata.labels.app: 'shop2', but Deployment shop's selector needs app=shop")]
    [InlineData("    manifest: { apiVersion: apps/v1, kind: Deployment, spec: { selector: { matchLabels: { app: billing } }, template: { metadata: { labels: { app: billing } }, spec: { containers: [ { name: a, image: b } ] } } } }",
        "spec.canary.manifest.spec.selector.matchLabels: selects app=billing, other pods than Deployment shop (app=shop)")]
    [InlineData("    manifest: { apiVersion: apps/v1, kind: Deployment, spec: { template: { metadata: { labels: { app: shop, version: blue } }, spec: { containers: [ { name: a, image: b } ] } } } }",
        "spec.canary.manifest.spec.template.metadata.labels.version: 'blue' conflicts with the version label")]
    [InlineData("    image: x:2\n    container: sidecar\n    manifest: { apiVersion: apps/v1, kind: Deployment, spec: { template: { metadata: { labels: { app: shop } }, spec: { containers: [ { name: a, image: b } ] } } } }",
        "spec.canary.container: the manifest's template has no container 'sidecar' (it has: a)")]
    public async Task A_template_change_that_does_not_fit_stable_is_refused_before_any_write(string canaryYaml, string message)
    {
        var (workload, cluster) = Workload(canaryYaml);
        var e = await Assert.ThrowsAsync<KubesteadException>(() => workload.ValidateAsync(CancellationToken.None));
        Assert.Equal("InvalidCanary", e.ErrorId);
        Assert.Contains(message, e.Message);
        await Assert.ThrowsAsync<KubesteadException>(() => workload.EnsureCanaryAsync(CancellationToken.None));
        Assert.Single((await cluster.ListAsync(ResourceType.Deployment, "web", null)).Items);
    }

    [Fact]
    public async Task The_canary_gets_the_patch_then_the_image_and_the_version_label()
    {
        var (workload, _) = Workload("""
                image: registry.example.com/shop:2.0.0
                templatePatch:
                  spec:
                    containers:
                      - name: app
                        env: [ { name: LOG_LEVEL, value: debug } ]
                        resources: { limits: { memory: 512Mi } }
                      - name: proxy
                        image: registry.example.com/proxy:3.2
            """);
        var canary = (await workload.BuildCanaryAsync(CancellationToken.None))!;
        var template = canary["spec"]!["template"]!;
        Assert.Equal("canary", template["metadata"]!["labels"]!["version"]!.GetValue<string>());
        var app = template["spec"]!["containers"]![0]!;
        Assert.Equal("registry.example.com/shop:2.0.0", app["image"]!.GetValue<string>());
        Assert.Equal("debug", app["env"]![0]!["value"]!.GetValue<string>());
        Assert.Equal("512Mi", app["resources"]!["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("registry.example.com/proxy:3.2", template["spec"]!["containers"]![1]!["image"]!.GetValue<string>());

        var changes = await workload.DescribeCanaryChangeAsync(canary, CancellationToken.None);
        Assert.Equal(
            [
                "spec.containers[app].image: registry.example.com/shop:1.9.0 -> registry.example.com/shop:2.0.0",
                "spec.containers[app].env[LOG_LEVEL].value: info -> debug",
                "spec.containers[app].resources added ({\"limits\":{\"memory\":\"512Mi\"}})",
                "spec.containers[proxy].image: registry.example.com/proxy:3.1 -> registry.example.com/proxy:3.2",
            ], changes);
    }

    [Fact]
    public async Task Already_at_this_version_compares_the_whole_template_change_not_only_the_image()
    {
        // Stable runs the image, but not the patch's env: there is still something to roll out.
        var (workload, cluster) = Workload("""
                image: registry.example.com/shop:1.9.0
                templatePatch: { spec: { containers: [ { name: app, env: [ { name: LOG_LEVEL, value: debug } ] } ] } }
            """);
        Assert.False(await workload.StableRunsCanaryVersionAsync(CancellationToken.None));

        await cluster.PatchAsync(ResourceType.Deployment, "web", "shop",
            new JsonPatch([JsonPatchOperation.Replace("/spec/template/spec/containers/0/env/0/value", "debug")]));
        Assert.True(await workload.StableRunsCanaryVersionAsync(CancellationToken.None));
    }

    [Fact]
    public void Specs_with_the_same_change_are_the_same_canary_and_another_change_is_another()
    {
        const string patch = "    templatePatch: { spec: { containers: [ { name: app, env: [ { name: A, value: \"1\" } ] } ] } }";
        var a = ParseValid(Spec(patch)).Canary;
        var b = ParseValid(Spec(patch)).Canary;
        var c = ParseValid(Spec(patch.Replace("\"1\"", "\"2\""))).Canary;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.StartsWith("template patch ", CanaryChangeText.Name(a));
        Assert.NotEqual(CanaryChangeText.Name(a), CanaryChangeText.Name(c));
    }
}
