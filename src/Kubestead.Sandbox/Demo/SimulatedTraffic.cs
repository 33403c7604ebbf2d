using Kubestead.Metrics;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Demo;

/// <summary>
/// Ties the simulator to the sandbox cluster: the route state is re-read after every change to the cluster, and the
/// simulation is brought up to the clock before each change and each metrics query, so every request is routed by the
/// objects that were in force at its second.
/// </summary>
public sealed class SimulatedTraffic
{
    private readonly object _gate = new();
    private readonly EmulatedCluster _cluster;
    private readonly TimeProvider _clock;
    private readonly RouteStateReader _reader;
    private RouteState _state;

    public SimulatedTraffic(EmulatedCluster cluster, TimeProvider clock, RouteStateReader reader, TrafficSimulator simulator)
    {
        _cluster = cluster;
        _clock = clock;
        _reader = reader;
        Simulator = simulator;
        _state = reader();
        cluster.Changed += (_, _, _) => OnClusterChanged();
    }

    public TrafficSimulator Simulator { get; }

    /// <summary>
    /// Metric windows straight from the simulator (the metric-source interface, no Prometheus needed); with a created
    /// baseline the control is the baseline, as the Prometheus source reads it.
    /// </summary>
    public MetricQueryFactory Metrics => (spec, metric) => (start, end, _) =>
    {
        _cluster.Materialize();
        CatchUp();
        return Task.FromResult(Simulator.Window(start, end, baselineControl: spec.CreateBaseline, synthetic: metric.LoadTestEvidence,
            syntheticControl: spec.Analysis?.LoadTest?.Control is not null));
    };

    /// <summary>Load tests (<c>analysis.loadTest</c>) sent into the simulator instead of over HTTP.</summary>
    public Kubestead.LoadTests.ILoadGenerator LoadGenerator => new SimulatedLoadGenerator(this);

    /// <summary>Sets the load test's rate from now on; the seconds before it are simulated at the old rate first.</summary>
    public void SetSyntheticRate(double requestsPerSecond, double controlPerSecond, string label, string value)
    {
        lock (_gate)
        {
            Simulator.AdvanceTo(_clock.GetUtcNow(), () => _state);
            Simulator.LoadTestLabel = label;
            Simulator.LoadTestValue = value;
            Simulator.SetSyntheticRate(requestsPerSecond, controlPerSecond);
        }
    }

    /// <summary>The same counts as a Prometheus HTTP API, for drivers in other processes (served by `kubestead sandbox`).</summary>
    public SimulatedPrometheus Prometheus => new(at =>
    {
        _cluster.Materialize();
        CatchUp();
        return Simulator.PrometheusTextAt(at);
    }, _clock);

    /// <summary>Routing changed outside the cluster (namerd's dtab): re-read it from now on.</summary>
    public void OnRoutingChanged() => OnClusterChanged();

    private void OnClusterChanged()
    {
        lock (_gate)
        {
            // Requests before this instant were routed by the previous objects.
            Simulator.AdvanceTo(_clock.GetUtcNow(), () => _state);
            _state = _reader();
        }
    }

    public void CatchUp()
    {
        lock (_gate) Simulator.AdvanceTo(_clock.GetUtcNow(), () => _state);
    }
}
