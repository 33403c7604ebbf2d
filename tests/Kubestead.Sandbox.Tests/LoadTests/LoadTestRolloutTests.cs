using Kubestead.Analysis;
using Kubestead.LoadTests;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Simulation;
using Kubestead.Sandbox.Tests.Demo;
using Xunit.Abstractions;

namespace Kubestead.Sandbox.Tests.LoadTests;

/// <summary>
/// A quiet canary (the service gets 2 requests a second, the canary 5% of them at first) cannot be judged from its
/// users' requests: the istio demo spec pauses for insufficient data. With a load test of 20 requests a second through
/// the header route, the synthetic requests are judged as their own evidence and decide it.
/// </summary>
public class LoadTestRolloutTests(ITestOutputHelper output)
{
    internal static DemoScenario Quiet(double canaryErrorRate) =>
        new("quiet", 2, new VersionBehavior(0.001), new VersionBehavior(canaryErrorRate), "a 2 rps service");

    internal static string WithLoadTest(string spec, string loadTest = "      requestsPerSecond: 20\n      control: {}\n") => spec.Replace(
        "  analysis:\n    interval: 10s\n",
        "  analysis:\n    interval: 10s\n    loadTest:\n      url: http://shop.shop.svc.cluster.local/\n      headers:\n        x-canary: \"true\"\n" + loadTest);

    private async Task<(RolloutResult Result, SandboxEnvironment Env)> RunAsync(double canaryErrorRate, bool loadTest)
    {
        var env = SandboxEnvironment.Create("istio", Quiet(canaryErrorRate));
        var spec = SandboxDemoTests.SpecFor("istio");
        if (loadTest) spec = WithLoadTest(spec);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        output.WriteLine($"=> {result.Phase} {result.PauseReason} {result.Message}");
        foreach (var v in result.Verdicts) output.WriteLine($"   {v.Metric}: {v.Outcome} {v.Summary}");
        return (result, env);
    }

    [Fact]
    public async Task Without_a_load_test_the_quiet_canary_pauses_for_insufficient_data()
    {
        var (result, env) = await RunAsync(0.001, loadTest: false);
        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.InsufficientData, result.PauseReason);
        Assert.Equal(0, env.Traffic.Simulator.SyntheticTotals().Requests);
    }

    [Fact]
    public async Task With_a_load_test_a_good_quiet_canary_is_promoted_on_its_synthetic_evidence()
    {
        var (result, env) = await RunAsync(0.001, loadTest: true);
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        var synthetic = env.Traffic.Simulator.SyntheticTotals().Requests;
        Assert.True(synthetic > 1000, $"{synthetic} synthetic requests");
        // The verdicts say which traffic they came from: the users' and the load test's, side by side.
        Assert.Contains(result.Verdicts, v => v.Metric == "error-rate");
        Assert.Contains(result.Verdicts, v => v.Metric == LoadTestEvidence.NameFor("error-rate") && v.Outcome == VerdictOutcome.Pass);
    }

    [Fact]
    public async Task With_a_load_test_a_bad_quiet_canary_is_rolled_back_on_its_synthetic_evidence()
    {
        var (result, env) = await RunAsync(0.05, loadTest: true);
        Assert.Equal(RolloutPhase.Aborted, result.Phase);
        Assert.Equal(0, result.CanaryWeight);
        Assert.Contains(LoadTestEvidence.NameFor("error-rate"), result.Message);
        Assert.True(env.Traffic.Simulator.SyntheticTotals().Failures > 0);
    }

    [Fact]
    public async Task The_users_windows_never_hold_synthetic_requests()
    {
        var (_, env) = await RunAsync(0.001, loadTest: true);
        var sim = env.Traffic.Simulator;
        var (_, _, canaryUsers, _) = sim.Totals();
        var users = sim.Window(sim.Start, sim.SimulatedUntil);
        var synthetic = sim.Window(sim.Start, sim.SimulatedUntil, synthetic: true);
        Assert.Equal(canaryUsers, users.Canary.Requests);
        Assert.Equal(sim.SyntheticTotals().Requests, synthetic.Canary.Requests);
        Assert.True(synthetic.Canary.Requests > 10 * users.Canary.Requests, $"{synthetic.Canary.Requests} vs {users.Canary.Requests}");
        // The Prometheus exposition labels them as Istio's tag override would record the marker header.
        Assert.Contains($"{LoadTestSpec.DefaultMetricLabel}=\"shop\"", sim.PrometheusText());
    }
}
