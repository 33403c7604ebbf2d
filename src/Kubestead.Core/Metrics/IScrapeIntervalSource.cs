namespace Kubestead.Metrics;

/// <summary>
/// A metric source that can say how often the series it reads are scraped (Prometheus's <c>/api/v1/targets</c>). Found
/// as the target of a <see cref="MetricWindowQuery"/>, as <see cref="IMetricWindowPrefetch"/> is, so no host plumbs it.
/// </summary>
public interface IScrapeIntervalSource
{
    /// <summary>The scrape interval of the targets this source reads; never throws for an unreadable answer (see <see cref="ScrapeIntervalReading"/>).</summary>
    Task<ScrapeIntervalReading> ReadScrapeIntervalAsync(CancellationToken ct);
}
