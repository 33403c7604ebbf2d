using System.Text.Json.Nodes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>Issue #19 item 7 through the CLI: a canary's template change is shown by start --dry-run and checked before any write.</summary>
public class TemplateChangeCliTests
{
    private static string Repo => Kubestead.Tests.Shared.RepositoryRoot.Path;

    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    private static string SpecFile(string canary)
    {
        var yaml = File.ReadAllText(Path.Combine(Repo, "examples", "sandbox", "none.yaml"))
            .Replace("  canary:\n    image: registry.example.com/shop:2.0.0\n", "  canary:\n" + canary);
        Assert.Contains(canary, yaml);
        var path = Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private const string Patch = """
            image: registry.example.com/shop:2.0.0
            templatePatch:
              spec:
                containers:
                  - name: app
                    env: [ { name: FEATURE_X, value: "on" } ]
                    resources: { limits: { memory: 512Mi } }

        """;

    [Fact]
    public async Task Start_dry_run_shows_the_canary_template_as_a_diff_against_stable_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        var spec = SpecFile(Patch);
        var writes = env.Cluster.Writes.Count;

        var (code, stdout, _) = await Run(env, "start", "-f", spec, "--dry-run");

        Assert.Equal(0, code);
        Assert.Contains("Dry run: nothing was written", stdout);
        Assert.Contains("deployments.apps/shop-canary in namespace shop", stdout);
        Assert.Contains("its template differs from stable's in 3 field(s):", stdout);
        Assert.Contains("      spec.containers[app].image: registry.example.com/shop:1.9.0 -> registry.example.com/shop:2.0.0", stdout);
        Assert.Contains("      spec.containers[app].env added ([{\"name\":\"FEATURE_X\",\"value\":\"on\"}])", stdout);
        Assert.Contains("      spec.containers[app].resources added ({\"limits\":{\"memory\":\"512Mi\"}})", stdout);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var json = await Run(env, "start", "-f", spec, "--dry-run", "-o", "json");
        var create = JsonNode.Parse(json.Out)!["changes"]!.AsArray().Single(c => c!["verb"]!.GetValue<string>() == "create" && c["target"]!.GetValue<string>().StartsWith("deployments.apps/"))!;
        var canary = JsonNode.Parse(create["body"]!.GetValue<string>())!;
        Assert.Equal("512Mi", canary["spec"]!["template"]!["spec"]!["containers"]![0]!["resources"]!["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task A_patch_naming_a_container_stable_lacks_exits_2_naming_the_field_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        var spec = SpecFile("""
                templatePatch: { spec: { containers: [ { name: sidecar, image: "registry.example.com/sidecar:1" } ] } }

            """);
        var writes = env.Cluster.Writes.Count;

        foreach (var args in new[] { new[] { "start", "-f", spec, "--dry-run" }, ["start", "-f", spec, "--no-wait"] })
        {
            var (code, stdout, stderr) = await Run(env, args);
            Assert.Equal(2, code);
            Assert.Contains("spec.canary.templatePatch.spec.containers[name=sidecar]: Deployment shop has no container 'sidecar' (it has: app)", stdout + stderr);
        }
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }
}
