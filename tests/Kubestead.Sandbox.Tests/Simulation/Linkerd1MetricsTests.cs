using Kubestead.Metrics.Prometheus;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Server;
using Kubestead.Sandbox.Simulation;
using Kubestead.Specs;

namespace Kubestead.Sandbox.Tests.Simulation;

public class Linkerd1MetricsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_builtin_linkerd1_queries_count_clients_by_Service_without_mixing_up_shop_and_shop_canary()
    {
        var sim = new TrafficSimulator(new TrafficProfile(80, SimulatedRouting.Random, new VersionBehavior(0.01), new VersionBehavior(0.05), 20, TimeSpan.Zero, 3), T0)
        {
            StableWorkload = "shop", CanaryWorkload = "shop-canary", Namespace = "web", Service = "shop",
        };
        sim.AdvanceTo(T0.AddMinutes(10), () => new RouteState(0.3, 0, 0));
        var prometheus = new SimulatedPrometheus(sim.PrometheusTextAt, new FixedClock(T0.AddMinutes(10)));
        await using var server = await SandboxApiServer.StartAsync(new EmulatedCluster(), prometheus: prometheus);
        using var http = new HttpClient();
        var provider = new PrometheusProviderSpec(server.PrometheusAddress!.ToString(), "linkerd1", null, null, null, TimeSpan.FromSeconds(10));
        var source = new PrometheusMetricSource(new PrometheusClient(http, server.PrometheusAddress), provider, "web", "shop-canary", "shop");

        var window = await source.WindowAsync(T0.AddMinutes(2), T0.AddMinutes(7), CancellationToken.None);
        var expected = sim.Window(T0.AddMinutes(2), T0.AddMinutes(7));
        Assert.True(expected.Canary.Requests > 1000);
        Assert.Equal((expected.Canary.Requests, expected.Canary.Failures), (window.Canary.Requests, window.Canary.Failures));
        Assert.Equal((expected.Control.Requests, expected.Control.Failures), (window.Control.Requests, window.Control.Failures));
        Assert.Null(window.Canary.Latency);
    }
}
