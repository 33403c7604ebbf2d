using Kubestead.Metrics;
using Kubestead.Specs;

namespace Kubestead.Analysis;

/// <summary>
/// Issue #29 item 4: when a spec does not say how often its metrics are scraped (<c>analysis.scrapeInterval</c>), the
/// interval is read from the metric sources that can tell (<see cref="IScrapeIntervalSource"/>: Prometheus's
/// <c>/api/v1/targets</c>) once per drive, and becomes the default interval and its floor. A source that cannot say
/// (403, a store without the endpoint, no matching target) leaves today's default, with a note: it never fails a rollout.
/// </summary>
public static class ScrapeIntervalDefault
{
    /// <summary>The shortest interval a spec may ask for (the parser's floor too).</summary>
    private static readonly TimeSpan Shortest = TimeSpan.FromSeconds(5);

    public static async Task<ScrapeIntervalResolution> ApplyAsync(RolloutSpec spec, MetricQueryFactory metrics, CancellationToken ct)
    {
        if (spec.Analysis is not { ScrapeInterval: null } analysis) return new(spec, null, [], null);
        var sources = analysis.Metrics.Select(m => (m.Name, Source: metrics(spec, m).Target as IScrapeIntervalSource)).Where(x => x.Source is not null).ToList();
        if (sources.Count == 0) return new(spec, null, [], null);
        var notes = new List<string>();
        TimeSpan? scrape = null;
        foreach (var (name, source) in sources)
        {
            ScrapeIntervalReading reading;
            try
            {
                reading = await source!.ReadScrapeIntervalAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Reading the interval is advice: whatever goes wrong, the rollout runs at the spec's interval.
                reading = new ScrapeIntervalReading(null, $"the scrape interval could not be read ({e.Message})");
            }
            notes.Add($"metric '{name}': {(reading.Interval is { } i ? $"scraped every {SpecDuration.Format(i)}: " : "")}{reading.Note}");
            if (reading.Interval is { } read && (scrape is null || read > scrape)) scrape = read;
        }
        if (scrape is not { } s)
        {
            notes.Add($"the analysis interval stays {SpecDuration.Format(analysis.Interval)}");
            return new(spec, null, notes, null);
        }
        var floor = s > Shortest ? s : Shortest;
        if (!analysis.IntervalGiven)
        {
            notes.Add($"the analysis interval is {SpecDuration.Format(floor)}, the scrape interval (spec.analysis.interval not given)");
            return new(spec with { Analysis = analysis with { Interval = floor, ScrapeInterval = s } }, s, notes, null);
        }
        if (analysis.Interval >= s) return new(spec, s, notes, null);
        var tooShort = $"{SpecDuration.Format(analysis.Interval)} is shorter than the scrape interval Prometheus reports ({SpecDuration.Format(s)}): " +
                       $"counters move only at scrapes, so a window must hold at least one; use {SpecDuration.Format(floor)} or longer, or remove spec.analysis.interval";
        return new(spec with { Analysis = analysis with { Interval = floor, ScrapeInterval = s } }, s, notes, tooShort);
    }
}
