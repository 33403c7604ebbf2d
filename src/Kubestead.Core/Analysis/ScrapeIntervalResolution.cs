using Kubestead.Specs;

namespace Kubestead.Analysis;

/// <summary>
/// The spec a drive runs once the metrics' scrape interval is known (<see cref="ScrapeIntervalDefault"/>).
/// </summary>
/// <param name="Spec">The spec with the interval it will run at (unchanged when nothing was read).</param>
/// <param name="ScrapeInterval">The scrape interval read from the metrics (null: none read, or the spec gave one).</param>
/// <param name="Notes">Where the interval came from, or why it could not be read (verbose output).</param>
/// <param name="TooShort">When the spec's own <c>analysis.interval</c> is below the scrape interval read: why (validation
/// refuses it; a drive runs at the scrape interval instead and warns).</param>
public sealed record ScrapeIntervalResolution(RolloutSpec Spec, TimeSpan? ScrapeInterval, IReadOnlyList<string> Notes, string? TooShort);
