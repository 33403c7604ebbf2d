using Kubestead.Analysis;
using Kubestead.Rollouts;


namespace Kubestead.Reports;

/// <summary>
/// One line of a rollout's history, flat so that it exports to CSV and filters in a pipeline: either an analysed
/// window of one metric (<see cref="Kind"/> "window": weight, counts, rates, latency, verdict, e-values) or an event
/// of the rollout (step, pause, drift, abort, ...: <see cref="Message"/>).
/// </summary>
public sealed record RolloutHistoryRow(
    string Name,
    string Namespace,
    DateTimeOffset At,
    string Kind,
    string Message,
    double? CanaryWeight,
    DateTimeOffset? WindowStart = null,
    int? WindowsMerged = null,
    string? Metric = null,
    string? Judge = null,
    string? Outcome = null,
    long? CanaryRequests = null,
    long? CanaryFailures = null,
    double? CanaryFailureRate = null,
    long? ControlRequests = null,
    long? ControlFailures = null,
    double? ControlFailureRate = null,
    double? CanaryP95Ms = null,
    double? ControlP95Ms = null,
    double? EValue = null,
    double? PassEValue = null,
    double? Threshold = null,
    string? Driver = null)
{
    public const string WindowKind = "window";

    /// <summary>The rollout's history in time order: its events and, per analysed window, one row per metric.</summary>
    public static IReadOnlyList<RolloutHistoryRow> For(RolloutResult r)
    {
        var rows = r.History.Select(h => new RolloutHistoryRow(r.Name, r.Namespace, h.At, h.Kind, h.Message, h.CanaryWeight, Driver: h.Driver)).ToList();
        var judges = r.Timeline?.Judges ?? Array.Empty<TimelineJudge>();
        foreach (var w in r.Timeline?.Windows ?? Array.Empty<TimelineWindow>())
            foreach (var m in w.Metrics)
            {
                var judge = judges.FirstOrDefault(j => j.Metric == m.Metric);
                rows.Add(new RolloutHistoryRow(r.Name, r.Namespace, w.End, WindowKind, "", w.CanaryWeight, w.Start, w.Merged, m.Metric, judge?.Judge,
                    m.Outcome.ToString(), m.CanaryRequests, m.CanaryFailures, Rate(m.CanaryFailures, m.CanaryRequests),
                    m.ControlRequests, m.ControlFailures, Rate(m.ControlFailures, m.ControlRequests), m.CanaryP95Ms, m.ControlP95Ms,
                    m.EValue, m.PassEValue, judge?.Threshold));
            }
        // Stable: at the same instant an event (the weight change) comes before the window that ended then.
        return rows.Select((row, i) => (row, i)).OrderBy(x => x.row.At).ThenBy(x => x.i).Select(x => x.row).ToList();
    }

    /// <summary>Failures per request; null for a window without requests (no rate, not a zero rate).</summary>
    public static double? Rate(long failures, long requests) => requests > 0 ? (double)failures / requests : null;
}
