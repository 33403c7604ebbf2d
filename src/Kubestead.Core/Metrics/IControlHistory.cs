using Kubestead.Analysis;

namespace Kubestead.Metrics;

/// <summary>
/// A window query (the object behind a <see cref="MetricWindowQuery"/>) that can read the control's per-pod counts from
/// before the analysis began (issue #29): the judges learn from them how far the control's pods stray and how long they
/// stay there, so the first windows of a rollout are judged against a band learned from hours of the control's own
/// traffic instead of a band held wide until minutes of the rollout have been seen. Every window it returns ends at or
/// before the analysis's first window begins, so each bet is still fixed before its own counts are seen.
/// </summary>
public interface IControlHistory
{
    /// <summary>
    /// False when this source's control did not serve before the analysis (a load test's own control stream, which runs
    /// only during analysis steps): its history is not read, since what it held would be another rollout's load test.
    /// </summary>
    bool HasControlHistory => true;

    /// <summary>
    /// The control's counts (per pod where the source reads them) in up to <paramref name="windows"/> consecutive windows
    /// of <paramref name="interval"/> ending at <paramref name="end"/>, oldest first. <see cref="MetricWindow.Canary"/> is
    /// <see cref="VersionSample.Empty"/> in each (no canary existed or it is not read). Windows the source has no data
    /// for are left out; an empty list is an answer, a failure throws <see cref="MetricsUnavailableException"/>.
    /// </summary>
    Task<IReadOnlyList<MetricWindow>> ControlHistoryAsync(DateTimeOffset end, TimeSpan interval, int windows, CancellationToken ct);
}
