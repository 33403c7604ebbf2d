using Kubestead.Metrics.Prometheus;
using Kubestead.Sandbox.Simulation;
using Kubestead.Specs;

namespace Kubestead.Sandbox.Tests.Simulation;

/// <summary>How many Prometheus queries a window costs, and what they ask for (issue #25 item 7).</summary>
public class PrometheusFanOutTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static (InProcessPrometheus Prometheus, TrafficSimulator Simulator, RolloutSpec Spec) Setup()
    {
        var yaml = File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "istio.yaml"))
            .Replace("http://prometheus.istio-system:9090", InProcessPrometheus.Address.ToString());
        var spec = RolloutSpecParser.Parse(yaml).Spec!;
        var (canary, control) = PrometheusMetricProvider.Workloads(spec);
        var sim = new TrafficSimulator(new TrafficProfile(80, SimulatedRouting.Random, new VersionBehavior(0.01), new VersionBehavior(0.05, LatencyMedianMs: 60),
            20, TimeSpan.Zero, 3), T0)
        {
            StableWorkload = control, CanaryWorkload = canary, Namespace = spec.Namespace, Service = spec.Service,
        };
        sim.AdvanceTo(T0.AddMinutes(10), () => new RouteState(0.3, 0, 0));
        return (new InProcessPrometheus(new SimulatedPrometheus(sim.PrometheusTextAt, new FixedClock(T0.AddMinutes(10)))), sim, spec);
    }

    [Fact]
    public async Task A_window_without_a_latency_judge_costs_eight_queries_summed_by_pod_and_no_buckets()
    {
        var (prometheus, sim, spec) = Setup();
        var metric = spec.Analysis!.Metrics[0];
        Assert.False(metric.Judge.ReadsLatency);
        var query = new PrometheusMetricProvider(new HttpClient(prometheus)).Open(spec, metric);

        var window = await query(T0.AddMinutes(2), T0.AddMinutes(3), CancellationToken.None);

        // Requests and failures, at both edges, for canary and control: 8, where raw series and buckets took 12.
        Assert.Equal(8, prometheus.Queries.Count);
        Assert.All(prometheus.Queries, q => Assert.StartsWith("sum by (pod, instance) (istio_requests_total{", q));
        var truth = sim.Window(T0.AddMinutes(2), T0.AddMinutes(3));
        Assert.Equal((truth.Canary.Requests, truth.Canary.Failures), (window.Canary.Requests, window.Canary.Failures));
        Assert.Equal((truth.Control.Requests, truth.Control.Failures), (window.Control.Requests, window.Control.Failures));
        Assert.Null(window.Canary.Latency);
    }

    [Fact]
    public async Task A_latency_judge_adds_the_buckets_summed_by_pod_and_le()
    {
        var (prometheus, sim, spec) = Setup();
        var metric = spec.Analysis!.Metrics[0] with { Judge = spec.Analysis.Metrics[0].Judge with { LatencyThresholdMs = 250 } };
        var query = new PrometheusMetricProvider(new HttpClient(prometheus)).Open(spec, metric);

        var window = await query(T0.AddMinutes(2), T0.AddMinutes(3), CancellationToken.None);

        Assert.Equal(12, prometheus.Queries.Count);
        Assert.Equal(4, prometheus.Queries.Count(q => q.StartsWith("sum by (pod, instance, le) (istio_request_duration_milliseconds_bucket{", StringComparison.Ordinal)));
        Assert.Equal(sim.Window(T0.AddMinutes(2), T0.AddMinutes(3)).Canary.Requests, window.Canary.Latency!.Total);
    }

    [Fact]
    public async Task A_catch_up_reads_every_window_edge_with_one_range_query_per_query_and_the_same_counts()
    {
        var (prometheus, sim, spec) = Setup();
        var metric = spec.Analysis!.Metrics[0] with { Judge = spec.Analysis.Metrics[0].Judge with { LatencyThresholdMs = 250 } };
        var query = new PrometheusMetricProvider(new HttpClient(prometheus)).Open(spec, metric);
        var prefetch = Assert.IsAssignableFrom<Kubestead.Metrics.IMetricWindowPrefetch>(query.Target);

        await prefetch.PrefetchAsync(T0, TimeSpan.FromMinutes(1), 8, CancellationToken.None);
        var windows = new List<Kubestead.Analysis.MetricWindow>();
        for (var i = 0; i < 8; i++) windows.Add(await query(T0.AddMinutes(i), T0.AddMinutes(i + 1), CancellationToken.None));

        // Requests, failures and buckets for canary and control: 6 range requests for 8 windows, where instant
        // queries took 8 x 12 = 96; and not one instant query after them.
        Assert.Equal(6, prometheus.Queries.Count);
        Assert.All(prometheus.Queries, q => Assert.StartsWith(InProcessPrometheus.RangePrefix, q));
        for (var i = 0; i < 8; i++)
        {
            var truth = sim.Window(T0.AddMinutes(i), T0.AddMinutes(i + 1));
            Assert.Equal((truth.Canary.Requests, truth.Canary.Failures), (windows[i].Canary.Requests, windows[i].Canary.Failures));
            Assert.Equal((truth.Control.Requests, truth.Control.Failures), (windows[i].Control.Requests, windows[i].Control.Failures));
            Assert.Equal(truth.Canary.Requests, windows[i].Canary.Latency!.Total);
        }

        // A window off the prefetched grid reads its own edges.
        await query(T0.AddSeconds(30), T0.AddSeconds(90), CancellationToken.None);
        Assert.Equal(6 + 12, prometheus.Queries.Count);
    }

    [Fact]
    public async Task The_analysis_reads_ahead_when_it_is_several_windows_behind_and_not_for_one_window()
    {
        var (prometheus, _, spec) = Setup();
        var runtime = new Kubestead.Rollouts.Engine.RuntimeFactory(new Kubestead.Sandbox.Cluster.EmulatedCluster(), TimeProvider.System,
            (s, m) => new PrometheusMetricProvider(new HttpClient(prometheus)).Open(s, m)).Create(spec);
        var runner = runtime.Analysis!;
        var status = new Kubestead.Rollouts.State.RolloutStatus { AnalysisCursor = T0 };

        var caughtUp = await runner.CatchUpAsync(status, T0.AddMinutes(5), CancellationToken.None);
        Assert.Equal(T0.AddMinutes(5), caughtUp.Status.AnalysisCursor);
        // Four range requests (requests and failures, canary and control) read all five windows.
        Assert.Equal(4, prometheus.Queries.Count);
        Assert.All(prometheus.Queries, q => Assert.StartsWith(InProcessPrometheus.RangePrefix, q));

        // One window behind: no read-ahead; its start edges are the last ones read ahead, its end edges instant queries.
        await runner.CatchUpAsync(caughtUp.Status, T0.AddMinutes(6), CancellationToken.None);
        Assert.Equal(4 + 4, prometheus.Queries.Count);
        Assert.DoesNotContain(prometheus.Queries.Skip(4), q => q.StartsWith(InProcessPrometheus.RangePrefix, StringComparison.Ordinal));
    }
}
