using System.Text.Json.Nodes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>
/// `kubestead demo --load-test` (issue #32): the low-traffic demo, which pauses for insufficient data on its users'
/// one request a minute, is decided by a load test's synthetic requests, judged as their own evidence.
/// </summary>
public class DemoLoadTestCliTests
{
    private static SandboxEnvironment Unused() => SandboxEnvironment.Create("istio", "healthy");

    [Fact]
    public async Task The_low_traffic_demo_pauses_for_insufficient_data_without_a_load_test_and_is_promoted_with_one()
    {
        var (quietCode, quietOut, _) = await InProcessCli.RunAsync(Unused(), "demo", "--scenario", "low-traffic", "-o", "json");
        Assert.Equal(4, quietCode);
        Assert.Equal("paused", JsonNode.Parse(quietOut)!["phase"]!.GetValue<string>());

        var (code, output, err) = await InProcessCli.RunAsync(Unused(), "demo", "--scenario", "low-traffic", "--load-test", "-o", "json");
        Assert.True(code == 0, $"exit {code}:\n{output}\n{err}");
        var doc = JsonNode.Parse(output)!;
        Assert.Equal("completed", doc["phase"]!.GetValue<string>());
        var verdicts = doc["analysis"]!.AsArray().Select(v => (Metric: v!["metric"]!.GetValue<string>(), Outcome: v["outcome"]!.GetValue<string>())).ToList();
        // The synthetic evidence decided it, under its own name; the users' metric is still reported beside it.
        Assert.Contains(verdicts, v => v.Metric == "error-rate@loadTest" && string.Equals(v.Outcome, "pass", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(verdicts, v => v.Metric == "error-rate");
    }

    [Fact]
    public async Task A_mesh_without_a_load_test_spec_is_refused_naming_the_option()
    {
        var (code, _, err) = await InProcessCli.RunAsync(Unused(), "demo", "--mesh", "linkerd", "--load-test");
        Assert.Equal(2, code);
        Assert.Contains("--load-test: the linkerd demo has no load-test spec", err);
    }

    [Fact]
    public async Task A_load_test_with_a_baseline_is_refused_naming_both_options()
    {
        var (code, _, err) = await InProcessCli.RunAsync(Unused(), "demo", "--load-test", "--baseline");
        Assert.Equal(2, code);
        Assert.Contains("--load-test runs examples/sandbox/<mesh>-load-test.yaml", err);
        Assert.Contains("--baseline", err);
    }
}
