namespace Kubestead.Metrics;

/// <summary>
/// A window query (the object behind a <see cref="MetricWindowQuery"/>) that can read the edges of many consecutive
/// windows at once: a catch-up after a resume or an API outage asks it first, so N windows cost one range request per
/// query instead of 2N instant ones (issue #25). A failed prefetch costs nothing but those instant queries.
/// </summary>
public interface IMetricWindowPrefetch
{
    /// <summary>Reads the edges of <paramref name="windows"/> windows of <paramref name="interval"/> from <paramref name="from"/>.</summary>
    Task PrefetchAsync(DateTimeOffset from, TimeSpan interval, int windows, CancellationToken ct);
}
