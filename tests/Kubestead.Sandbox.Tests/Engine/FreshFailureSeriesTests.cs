using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Sandbox.Tests.Simulation;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// A data plane creates a failure series at its first failure (issue #25 item 5): the rollout reads Prometheus
/// through Kubestead's own source, and a fresh canary's first failures must count like any others.
/// </summary>
public class FreshFailureSeriesTests
{
    private sealed record Run(RolloutResult Result, IReadOnlyList<(MetricWindow Read, MetricWindow Truth)> Windows);

    private static async Task<Run> RunFaulty(bool failureSeriesFromFirstFailure, bool seriesFromFirstRequest = false)
    {
        var env = SandboxEnvironment.Create("istio", "faulty");
        env.Traffic.Simulator.FailureSeriesFromFirstFailure = failureSeriesFromFirstFailure;
        env.Traffic.Simulator.SeriesFromFirstRequest = seriesFromFirstRequest;
        var windows = new List<(MetricWindow Read, MetricWindow Truth)>();
        var http = new HttpClient(new InProcessPrometheus(env.Traffic.Prometheus));
        var provider = new PrometheusProviderSpec(InProcessPrometheus.Address.ToString(), "istio", null, null, null, TimeSpan.FromSeconds(10));
        var source = new PrometheusMetricSource(new PrometheusClient(http, InProcessPrometheus.Address), provider, ShopFixture.Namespace, "shop-canary", "shop");
        await using var svc = new KubesteadService(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Driver = new DriverIdentity("t", "sandbox", null, "t"),
            PollInterval = TimeSpan.FromSeconds(30),
            Metrics = (_, _) => async (start, end, ct) =>
            {
                var read = await source.WindowAsync(start, end, ct);
                lock (windows) windows.Add((read, env.Traffic.Simulator.Window(start, end)));
                return read;
            },
        });
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        return new Run(result, windows);
    }

    [Fact]
    public async Task A_canary_whose_503_series_appears_mid_rollout_has_every_failure_counted_and_is_rolled_back_as_fast()
    {
        var preexisting = await RunFaulty(failureSeriesFromFirstFailure: false);
        var fresh = await RunFaulty(failureSeriesFromFirstFailure: true);

        Assert.Equal(RolloutPhase.Aborted, preexisting.Result.Phase);
        Assert.Equal(RolloutPhase.Aborted, fresh.Result.Phase);
        // Stable's 200 series exists from the start, so every window is read exactly, the one with the first 503 included.
        Assert.Contains(fresh.Windows, w => w.Truth.Canary.Failures > 0);
        Assert.All(fresh.Windows, w =>
        {
            Assert.Equal((w.Truth.Canary.Requests, w.Truth.Canary.Failures), (w.Read.Canary.Requests, w.Read.Canary.Failures));
            Assert.Equal((w.Truth.Control.Requests, w.Truth.Control.Failures), (w.Read.Control.Requests, w.Read.Control.Failures));
        });
        var interval = TimeSpan.FromSeconds(10);
        var freshTook = fresh.Result.FinishedAt - fresh.Result.StartedAt;
        var preexistingTook = preexisting.Result.FinishedAt - preexisting.Result.StartedAt;
        Assert.True(freshTook <= preexistingTook + interval, $"fresh series: aborted after {freshTook}; pre-existing series: {preexistingTook}");
    }

    [Fact]
    public async Task A_canary_pod_with_no_series_before_its_first_request_is_counted_from_zero_and_rolled_back_as_fast()
    {
        // The canary's pods start with no series at all (Envoy creates them at the first request), so the first window
        // at the canary's weight has no canary series at its start: those requests and failures count from zero.
        var preexisting = await RunFaulty(failureSeriesFromFirstFailure: false);
        var fresh = await RunFaulty(failureSeriesFromFirstFailure: true, seriesFromFirstRequest: true);

        Assert.Equal(RolloutPhase.Aborted, fresh.Result.Phase);
        Assert.Contains(fresh.Windows, w => w.Truth.Canary.Requests > 0 && w.Truth.Canary.Failures > 0);
        Assert.All(fresh.Windows, w =>
            Assert.Equal((w.Truth.Canary.Requests, w.Truth.Canary.Failures), (w.Read.Canary.Requests, w.Read.Canary.Failures)));
        var freshTook = fresh.Result.FinishedAt - fresh.Result.StartedAt;
        var preexistingTook = preexisting.Result.FinishedAt - preexisting.Result.StartedAt;
        Assert.True(freshTook <= preexistingTook + TimeSpan.FromSeconds(10), $"series from the first request: aborted after {freshTook}; pre-existing series: {preexistingTook}");
    }
}
