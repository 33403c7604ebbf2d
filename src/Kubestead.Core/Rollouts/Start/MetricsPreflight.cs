using Kubestead.Metrics;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// <c>validate --cluster</c> and <c>Test-KubesteadRollout -Cluster</c>: every metric's source is asked for the last
/// few minutes before anything is written, so wrong credentials, an untrusted certificate or a query that matches no
/// series show up at validation instead of as the first analysis window's error. Reads only.
/// </summary>
public static class MetricsPreflight
{
    /// <summary>How far back the stable version's traffic is read.</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromMinutes(5);

    public static async Task<IReadOnlyList<SpecCheck>> RunAsync(RolloutSpec spec, MetricQueryFactory metrics, DateTimeOffset now, CancellationToken ct)
    {
        var checks = new List<SpecCheck>();
        foreach (var (metric, i) in (spec.Analysis?.Metrics ?? []).Select((m, i) => (m, i)))
        {
            var target = $"spec.analysis.metrics[{i}].provider.{metric.Provider.Kind}";
            try
            {
                var window = await metrics(spec, metric)(now - Lookback, now, ct).ConfigureAwait(false);
                checks.Add(window.Control.Requests > 0
                    ? new SpecCheck("metrics", CheckOutcome.Passed,
                        $"metric '{metric.Name}': the {metric.Provider.Kind} source answered; the control version served {window.Control.Requests} requests in the last {Lookback.TotalMinutes:0} minutes", target)
                    // Idle stable traffic is legal (a quiet hour), but a query matching nothing looks the same: say so, do not fail.
                    : new SpecCheck("metrics", CheckOutcome.Warning,
                        $"metric '{metric.Name}': the {metric.Provider.Kind} source answered, but no requests of the control version were counted in the last {Lookback.TotalMinutes:0} minutes: " +
                        "if it serves traffic, the query matches no series (check the builtin, the namespace and the workload labels); the analysis would see insufficient data", target));
            }
            catch (KubesteadException e)
            {
                checks.Add(new SpecCheck("metrics", CheckOutcome.Failed, $"metric '{metric.Name}': {e.Message}", target));
            }
        }
        // Validation refuses an interval below the scrape interval Prometheus reports; a drive would widen it (docs/analysis.md).
        var scrape = await Analysis.ScrapeIntervalDefault.ApplyAsync(spec, metrics, ct).ConfigureAwait(false);
        if (scrape.TooShort is { } tooShort)
            checks.Add(new SpecCheck("interval", CheckOutcome.Failed, tooShort, "spec.analysis.interval"));
        else if (scrape.Notes.Count > 0)
            checks.Add(new SpecCheck("interval", CheckOutcome.Passed, string.Join("; ", scrape.Notes), "spec.analysis.interval"));
        return checks;
    }
}
