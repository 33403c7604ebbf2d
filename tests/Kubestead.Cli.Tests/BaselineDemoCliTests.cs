using System.Text.Json.Nodes;

namespace Kubestead.Cli.Tests;

/// <summary>`kubestead demo --baseline` (issue #13 item 5): each mesh that can route a created baseline ends by the scenario's exit code, with the baseline gone after promotion and rollback.</summary>
public class BaselineDemoCliTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(null, null, args);

    public static TheoryData<string, string, int, string> Cases()
    {
        var data = new TheoryData<string, string, int, string>();
        foreach (var mesh in new[] { "istio", "linkerd", "smi", "none" })
        {
            data.Add(mesh, "healthy", 0, "completed");
            data.Add(mesh, "faulty", 3, "aborted");
            data.Add(mesh, "low-traffic", 4, "paused");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Demo_with_a_baseline_ends_by_the_scenario_and_leaves_no_baseline_when_finished(string mesh, string scenario, int exit, string phase)
    {
        var (code, stdout, _) = await Run("demo", "--mesh", mesh, "--scenario", scenario, "--baseline", "--output", "json");
        Assert.Equal(exit, code);
        var doc = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(phase, doc["phase"]!.GetValue<string>());
        Assert.NotNull(doc["weights"]!["baseline"]);
        var leftovers = doc["demo"]!["baselineLeftovers"]!.AsArray().Select(l => l!.GetValue<string>()).ToList();
        if (exit == 4)
        {
            // Paused: the rollout goes on later, so its baseline is still there with the canary's share.
            Assert.Contains("Deployment shop-baseline", leftovers);
            Assert.Equal(doc["weights"]!["canary"]!.GetValue<double>(), doc["weights"]!["baseline"]!.GetValue<double>());
        }
        else
        {
            Assert.Empty(leftovers);
            Assert.True(doc["demo"]!["baselineRequests"]!.GetValue<long>() > 0, "the baseline served requests");
            Assert.Equal(0, doc["weights"]!["baseline"]!.GetValue<double>());
        }
    }

    [Fact]
    public async Task The_text_output_says_the_baseline_is_gone()
    {
        var (code, stdout, _) = await Run("demo", "--mesh", "istio", "--scenario", "faulty", "--baseline");
        Assert.Equal(3, code);
        Assert.Contains("Sandbox demo: mesh istio with a created baseline, scenario faulty", stdout);
        Assert.Matches(@"baseline \d+ \(\d+ failed\)", stdout);
        Assert.Contains("The baseline (Deployment and routing) is gone.", stdout);
    }

    [Theory]
    [InlineData("nginx")]
    [InlineData("linkerd1")]
    public async Task Demo_refuses_a_baseline_on_nginx_and_linkerd1_before_running(string mesh)
    {
        var (code, stdout, stderr) = await Run("demo", "--mesh", mesh, "--baseline");
        Assert.Equal(2, code);
        Assert.DoesNotContain("Sandbox demo:", stdout);
        Assert.Contains("--baseline: the " + mesh + " demo has no created baseline", stderr);
    }

    [Fact]
    public async Task Demo_refuses_spec_and_baseline_together()
    {
        var spec = Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "istio-baseline.yaml");
        var (code, stdout, stderr) = await Run("demo", "--mesh", "istio", "--spec", spec, "--baseline");
        Assert.Equal(2, code);
        Assert.DoesNotContain("Sandbox demo:", stdout);
        Assert.Contains("give it or --spec", stderr);
    }
}
