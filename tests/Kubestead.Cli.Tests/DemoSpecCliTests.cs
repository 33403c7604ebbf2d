using System.Text.Json.Nodes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>`kubestead demo --spec`: the demo with a spec of the user's (how docs/analysis.md measures background on and off).</summary>
public class DemoSpecCliTests
{
    private static string DemoSpec(string mesh) =>
        File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", $"{mesh}.yaml"));

    private static string Write(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task A_missing_spec_file_is_refused_naming_the_option()
    {
        var (code, _, err) = await InProcessCli.RunAsync(SandboxEnvironment.Create("istio", "healthy"), "demo", "--spec", "/nonexistent/kubestead-spec.yaml");
        Assert.Equal(2, code);
        Assert.Contains("--spec: spec file '/nonexistent/kubestead-spec.yaml' does not exist", err);
    }

    [Fact]
    public async Task A_spec_for_another_mesh_is_refused_naming_the_field()
    {
        var path = Write(DemoSpec("none"));
        try
        {
            var (code, _, err) = await InProcessCli.RunAsync(SandboxEnvironment.Create("istio", "healthy"), "demo", "--mesh", "istio", "--spec", path);
            Assert.Equal(2, code);
            Assert.Contains("spec.meshProvider is 'none' but the sandbox runs mesh 'istio'", err);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task The_demo_runs_the_given_spec_with_background_analysis_off()
    {
        var path = Write(DemoSpec("istio").Replace("    interval: 10s\n", "    interval: 10s\n    background: false\n"));
        try
        {
            var (code, output, _) = await InProcessCli.RunAsync(SandboxEnvironment.Create("istio", "healthy"), "demo", "--spec", path, "-o", "json");
            Assert.Equal(0, code);
            var doc = JsonNode.Parse(output)!;
            Assert.Equal("completed", doc["phase"]!.GetValue<string>());
            // No background e-process ran: the spec given was the one run, not examples/sandbox/istio.yaml.
            Assert.Empty(doc["background"]!.AsArray());
            Assert.True(doc["demo"]!["simulatedSeconds"]!.GetValue<double>() > 0);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
