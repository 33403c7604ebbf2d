using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Server;
using Kubestead.Sandbox.Simulation;
using Kubestead.Specs;

namespace Kubestead.Sandbox.Tests.Simulation;

/// <summary>The sandbox's Prometheus API answers Kubestead's own queries with exactly the simulator's counts.</summary>
public class SimulatedPrometheusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static TrafficSimulator Simulated()
    {
        var sim = new TrafficSimulator(new TrafficProfile(80, SimulatedRouting.Random, new VersionBehavior(0.01), new VersionBehavior(0.05, LatencyMedianMs: 60),
            20, TimeSpan.Zero, 3), T0)
        {
            StableWorkload = "shop", CanaryWorkload = "shop-canary", Namespace = "web", Service = "shop",
        };
        sim.AdvanceTo(T0.AddMinutes(10), () => new RouteState(0.3, 0, 0));
        return sim;
    }

    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    public async Task Kubesteads_queries_over_http_read_the_same_window_as_the_simulator(string builtin)
    {
        var sim = Simulated();
        var prometheus = new SimulatedPrometheus(sim.PrometheusTextAt, new FixedClock(T0.AddMinutes(10)));
        await using var server = await SandboxApiServer.StartAsync(new EmulatedCluster(), prometheus: prometheus);
        using var http = new HttpClient();
        var provider = new PrometheusProviderSpec(server.PrometheusAddress!.ToString(), builtin, null, null, null, TimeSpan.FromSeconds(10));
        var source = new PrometheusMetricSource(new PrometheusClient(http, server.PrometheusAddress), provider, "web", "shop-canary", "shop");

        var window = await source.WindowAsync(T0.AddMinutes(2), T0.AddMinutes(7), CancellationToken.None);
        var expected = sim.Window(T0.AddMinutes(2), T0.AddMinutes(7));
        Assert.True(expected.Canary.Requests > 1000);
        Assert.True(expected.Canary.Failures > 10);
        Assert.Equal(expected.Canary.Requests, window.Canary.Requests);
        Assert.Equal(expected.Canary.Failures, window.Canary.Failures);
        Assert.Equal(expected.Control.Requests, window.Control.Requests);
        Assert.Equal(expected.Control.Failures, window.Control.Failures);
        Assert.NotNull(window.Canary.Latency);
        Assert.Equal(expected.Canary.Requests, window.Canary.Latency!.CumulativeCounts[^1]);
    }

    [Fact]
    public async Task A_query_it_cannot_answer_is_a_metrics_error_not_zero_traffic()
    {
        var prometheus = new SimulatedPrometheus(Simulated().PrometheusTextAt, new FixedClock(T0.AddMinutes(10)));
        await using var server = await SandboxApiServer.StartAsync(new EmulatedCluster(), prometheus: prometheus);
        using var http = new HttpClient();
        var client = new PrometheusClient(http, server.PrometheusAddress!);
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => client.QueryAsync("irate(istio_requests_total[1m])", T0.AddMinutes(5), CancellationToken.None));
        Assert.Contains("bad_data", e.Message);
        Assert.Contains("function 'irate' (only rate, increase)", e.Message);
    }

    [Fact]
    public void Matchers_select_series_and_sum_by_groups()
    {
        var prometheus = new SimulatedPrometheus(Simulated().PrometheusTextAt, new FixedClock(T0.AddMinutes(10)));
        var (status, body) = prometheus.Query("sum by (le) (istio_request_duration_milliseconds_bucket{destination_workload=~\"shop-.*\",reporter!=\"source\"})", null);
        Assert.Equal(200, status);
        var result = System.Text.Json.Nodes.JsonNode.Parse(body)!["data"]!["result"]!.AsArray();
        Assert.Equal(16, result.Count); // Istio's 15 bounds and +Inf, canary only
        Assert.All(result, r => Assert.NotNull(r!["metric"]!["le"]));
    }

    [Fact]
    public void Increase_over_a_range_summed_by_a_label_is_the_simulators_exact_count()
    {
        var sim = Simulated();
        var prometheus = new SimulatedPrometheus(sim.PrometheusTextAt, new FixedClock(T0.AddMinutes(10)));
        var at = T0.AddMinutes(7);
        var (status, body) = prometheus.Query(
            "sum by (destination_workload) (increase(istio_requests_total{reporter=\"destination\",response_code=~\"5..\"}[5m]))",
            (at.ToUnixTimeMilliseconds() / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(200, status);
        var result = System.Text.Json.Nodes.JsonNode.Parse(body)!["data"]!["result"]!.AsArray()
            .ToDictionary(r => r!["metric"]!["destination_workload"]!.GetValue<string>(), r => double.Parse(r!["value"]![1]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        var expected = sim.Window(T0.AddMinutes(2), at);
        Assert.True(expected.Canary.Failures > 10);
        Assert.Equal(expected.Canary.Failures, result["shop-canary"]);
        Assert.Equal(expected.Control.Failures, result["shop"]);
    }
}
