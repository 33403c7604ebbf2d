using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Prometheus;

namespace Kubestead.Cli;

/// <summary>
/// A controller replica's Prometheus series, in a registry of its own (no process-wide default registry, so two
/// replicas in one test process never share counts). Counters follow what happened (decisions, API requests, looks at
/// rollouts); gauges are read from the controller when scraped (rollouts by phase as its watch sees them, Leases held).
/// </summary>
public sealed class ControllerMetrics : IControllerObserver, IRolloutObserver
{
    private readonly Counter _decisions;
    private readonly Counter _apiRequests;
    private readonly Counter _apiErrors;
    private readonly Histogram _reconcile;
    private RolloutController? _controller;
    private Func<Kubestead.Events.EventDeliveryCounts>? _events;

    public ControllerMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        // process_working_set_bytes (RSS on Linux), process_cpu_seconds_total and the runtime's own: what the bench reads per replica.
        DotNetStats.Register(Registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        var rollouts = factory.CreateGauge("kubestead_controller_rollouts", "Rollouts handed to controllers, by phase, as this replica's watch sees them.", "phase");
        var leases = factory.CreateGauge("kubestead_controller_leases_held", "Rollout Leases this replica holds (rollouts it drives now).");
        _decisions = factory.CreateCounter("kubestead_controller_decisions_total", "Analysis verdicts reached in drives by this replica, by verdict.", "verdict");
        _apiRequests = factory.CreateCounter("kubestead_controller_api_requests_total", "HTTP requests to the Kubernetes API (retries included), by verb, resource and status code.", "verb", "resource", "code");
        _apiErrors = factory.CreateCounter("kubestead_controller_api_errors_total", "API requests that got no answer (code \"none\") or a 4xx/5xx status.", "verb", "resource", "code");
        _reconcile = factory.CreateHistogram("kubestead_controller_reconcile_duration_seconds",
            "How long one look at a rollout took, by outcome; a drive lasts until its rollout ends or pauses, so its samples run to hours.",
            new HistogramConfiguration { LabelNames = ["outcome"], Buckets = Histogram.ExponentialBuckets(0.005, 4, 12) });
        // Every phase is exported, zeros included, so a query for a phase that has no rollouts yet finds 0 rather than nothing.
        foreach (var phase in Enum.GetValues<RolloutPhase>()) rollouts.WithLabels(phase.ToString());
        foreach (var verdict in Enum.GetValues<Kubestead.Analysis.VerdictOutcome>()) _decisions.WithLabels(verdict.ToString());
        var unwritten = factory.CreateCounter("kubestead_controller_kubernetes_events_unwritten_total",
            "Kubernetes Events this replica could not write (refused, failed, or dropped); the rollouts' state and history stay complete.");
        var dropped = factory.CreateCounter("kubestead_controller_kubernetes_events_dropped_total",
            "Of those, Events never attempted because the write queue was full (an API server that stopped accepting Events).");
        Registry.AddBeforeCollectCallback(() =>
        {
            if (_events?.Invoke() is { } events)
            {
                unwritten.IncTo(events.NotWritten);
                dropped.IncTo(events.Dropped);
            }
            if (_controller is not { } controller) return;
            var byPhase = controller.RolloutsByPhase;
            foreach (var phase in Enum.GetValues<RolloutPhase>()) rollouts.WithLabels(phase.ToString()).Set(byPhase.GetValueOrDefault(phase));
            leases.Set(controller.Driving.Count);
        });
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The running replica whose gauges are read at each scrape.</summary>
    public void Attach(RolloutController controller) => _controller = controller;

    /// <summary>Where the Kubernetes Events the replica could not write are counted (its engine's recorder), read at each scrape.</summary>
    public void AttachEvents(Func<Kubestead.Events.EventDeliveryCounts> read) => _events = read;

    public void OnApiRequest(ApiRequestSample sample)
    {
        var code = sample.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";
        _apiRequests.WithLabels(sample.Verb, sample.Resource, code).Inc();
        if (sample.IsError) _apiErrors.WithLabels(sample.Verb, sample.Resource, code).Inc();
    }

    public void OnEvent(ControllerEvent e)
    {
        if (e is { Kind: ControllerEventKind.Reconciled, Elapsed: { } elapsed, Outcome: { } outcome })
            _reconcile.WithLabels(outcome.ToString()).Observe(elapsed.TotalSeconds);
    }

    public void OnEvent(RolloutEvent e)
    {
        switch (e)
        {
            case VerdictEvent v:
                _decisions.WithLabels(v.Verdict.Outcome.ToString()).Inc();
                break;
            case BackgroundVerdictEvent b:
                _decisions.WithLabels(b.Verdict.Outcome.ToString()).Inc();
                break;
        }
    }
}
