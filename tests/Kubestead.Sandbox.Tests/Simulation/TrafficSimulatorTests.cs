using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Tests.Simulation;

public class TrafficSimulatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static TrafficSimulator Sim(double rps, SimulatedRouting routing, double canaryErrors = 0.001, int seed = 7, int connections = 20, double lifetime = 0) =>
        new(new TrafficProfile(rps, routing, new VersionBehavior(0.001), new VersionBehavior(canaryErrors), connections, TimeSpan.FromSeconds(lifetime), seed), T0)
        {
            StableWorkload = "shop", CanaryWorkload = "shop-canary", Namespace = "web", Service = "shop",
        };

    [Fact]
    public void Random_routing_sends_about_the_weighted_share_to_the_canary()
    {
        var sim = Sim(200, SimulatedRouting.Random);
        sim.AdvanceTo(T0.AddMinutes(10), () => new RouteState(0.25, 0, 0));
        var (sr, _, cr, _) = sim.Totals();
        var share = (double)cr / (sr + cr);
        Assert.InRange(sr + cr, 115_000, 125_000);
        Assert.InRange(share, 0.24, 0.26);
    }

    [Fact]
    public void Round_robin_is_exact_to_one_request()
    {
        var sim = Sim(100, SimulatedRouting.RoundRobin);
        sim.AdvanceTo(T0.AddMinutes(5), () => new RouteState(0.1, 0, 0));
        var (sr, _, cr, _) = sim.Totals();
        Assert.InRange(cr, Math.Floor((sr + cr) * 0.1), Math.Ceiling((sr + cr) * 0.1));
    }

    [Fact]
    public void Windows_are_exact_and_add_up_to_the_totals()
    {
        var sim = Sim(50, SimulatedRouting.Random, canaryErrors: 0.05);
        sim.AdvanceTo(T0.AddMinutes(3), () => new RouteState(0.5, 0, 0));
        var w1 = sim.Window(T0, T0.AddMinutes(1));
        var w2 = sim.Window(T0.AddMinutes(1), T0.AddMinutes(3));
        var (sr, sf, cr, cf) = sim.Totals();
        Assert.Equal(cr, w1.Canary.Requests + w2.Canary.Requests);
        Assert.Equal(cf, w1.Canary.Failures + w2.Canary.Failures);
        Assert.Equal(sr, w1.Control.Requests + w2.Control.Requests);
        Assert.Equal(sf, w1.Control.Failures + w2.Control.Failures);
        Assert.Equal(w1.Canary.Requests, w1.Canary.Latency!.Total);
        Assert.True(cf > sf, "a 5% canary fails more than a 0.1% stable on the same traffic");
    }

    [Fact]
    public void Empty_window_rate_matches_the_closed_form_for_random_routing()
    {
        // R = 2 rps, w = 1%, T = 60 s: P(empty) = e^(-1.2) = 0.301.
        var sim = Sim(2, SimulatedRouting.Random, seed: 11);
        sim.AdvanceTo(T0.AddHours(20), () => new RouteState(0.01, 0, 0));
        var empty = Enumerable.Range(0, 1200).Count(i => sim.Window(T0.AddMinutes(i), T0.AddMinutes(i + 1)).Canary.Requests == 0);
        Assert.InRange(empty / 1200.0, 0.301 - 0.04, 0.301 + 0.04);
    }

    [Fact]
    public void Pod_routing_follows_ready_pods_and_sticky_connections_skew_short_runs()
    {
        var sim = Sim(100, SimulatedRouting.Pods, connections: 50);
        sim.AdvanceTo(T0.AddMinutes(10), () => new RouteState(0, 9, 1));
        var (sr, _, cr, _) = sim.Totals();
        Assert.InRange((double)cr / (sr + cr), 0.07, 0.13);

        var none = Sim(100, SimulatedRouting.Pods);
        none.AdvanceTo(T0.AddMinutes(1), () => new RouteState(0, 5, 0));
        Assert.Equal(0, none.Totals().CanaryRequests);
    }

    [Fact]
    public void Same_seed_same_traffic()
    {
        var a = Sim(20, SimulatedRouting.Random, seed: 3);
        var b = Sim(20, SimulatedRouting.Random, seed: 3);
        a.AdvanceTo(T0.AddMinutes(2), () => new RouteState(0.3, 0, 0));
        b.AdvanceTo(T0.AddMinutes(2), () => new RouteState(0.3, 0, 0));
        Assert.Equal(a.Totals(), b.Totals());
        Assert.Equal(a.PrometheusText(), b.PrometheusText());
    }

    [Fact]
    public void Exposition_has_both_meshes_metric_names_with_consistent_counts()
    {
        var sim = Sim(30, SimulatedRouting.Random, canaryErrors: 0.2);
        sim.AdvanceTo(T0.AddMinutes(1), () => new RouteState(0.5, 0, 0));
        var text = sim.PrometheusText();
        var (_, _, cr, cf) = sim.Totals();
        Assert.Contains($"response_total{{direction=\"inbound\",deployment=\"shop-canary\",namespace=\"web\",classification=\"failure\",status_code=\"503\"}} {cf}", text);
        var istioCanary = Regex.Matches(text, "istio_requests_total\\{[^}]*destination_workload=\"shop-canary\"[^}]*\\} (\\d+)")
            .Sum(m => long.Parse(m.Groups[1].Value));
        Assert.Equal(cr, istioCanary);
        Assert.Matches($"istio_request_duration_milliseconds_bucket\\{{[^}}]*shop-canary[^}}]*le=\"\\+Inf\"\\}} {cr}\\n", text);
    }

    [Fact]
    public void Route_share_reader_understands_each_mesh_object()
    {
        var vs = JsonNode.Parse("""
            {"spec":{"http":[
              {"name":"testers","match":[{"headers":{"x-canary":{"exact":"true"}}}],"route":[{"destination":{"host":"shop","subset":"canary"}}]},
              {"name":"primary","route":[{"destination":{"host":"shop","subset":"stable"},"weight":90},{"destination":{"host":"shop","subset":"canary"},"weight":10}]}]}}
            """)!.AsObject();
        Assert.Equal(0.1, RouteShareReader.FromVirtualService(vs, d => d["subset"]?.GetValue<string>() == "canary"), 6);

        var route = JsonNode.Parse("""
            {"spec":{"rules":[
              {"matches":[{"headers":[{"name":"x-canary","value":"true"}]}],"backendRefs":[{"name":"shop-canary","port":80}]},
              {"backendRefs":[{"name":"shop","port":80,"weight":999},{"name":"shop-canary","port":80,"weight":1}]}]}}
            """)!.AsObject();
        Assert.Equal(0.001, RouteShareReader.FromHttpRoute(route, "shop-canary"), 9);

        var split = JsonNode.Parse("""{"spec":{"backends":[{"service":"shop","weight":"750m"},{"service":"shop-canary","weight":"250m"}]}}""")!.AsObject();
        Assert.Equal(0.25, RouteShareReader.FromTrafficSplit(split, "shop-canary"), 9);
        Assert.Equal(0.1, RouteShareReader.FromReadyPods(9, 1), 9);
    }
}
