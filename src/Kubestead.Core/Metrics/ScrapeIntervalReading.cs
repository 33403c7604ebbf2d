namespace Kubestead.Metrics;

/// <summary>
/// What a source found about its scrape interval: <see cref="Interval"/> (null: unknown, the spec's default stays) and
/// <see cref="Note"/>, which says where it came from or why it could not be read (for verbose output and validation).
/// </summary>
public sealed record ScrapeIntervalReading(TimeSpan? Interval, string Note);
