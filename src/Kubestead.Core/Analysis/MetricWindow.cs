namespace Kubestead.Analysis;

/// <summary>
/// Cumulative latency histogram in Prometheus form: <see cref="CumulativeCounts"/>[i] requests took at most
/// <see cref="UpperBoundsMs"/>[i] milliseconds; the last bound may be +Infinity.
/// </summary>
public sealed record LatencyHistogram(IReadOnlyList<double> UpperBoundsMs, IReadOnlyList<long> CumulativeCounts)
{
    public long Total => CumulativeCounts.Count == 0 ? 0 : CumulativeCounts[^1];
}

/// <summary>What one version (stable, canary or baseline) served in one window: counts, never ratios.</summary>
/// <param name="Pods">
/// The same counts per pod where the source reads them series by series (null where it does not). The sequential judges
/// learn from the control's pods how far one pod's failure rate strays from its version's and how long it stays there
/// (issue #29, <see cref="PodPersistence"/>).
/// </param>
public sealed record VersionSample(long Requests, long Failures, LatencyHistogram? Latency = null, IReadOnlyList<PodSample>? Pods = null)
{
    public static readonly VersionSample Empty = new(0, 0);
}

/// <summary>
/// One analysis window: the canary against its control (the baseline when the spec has one, else stable).
/// Counts are for this window only (not cumulative); sequential judges accumulate them.
/// </summary>
public sealed record MetricWindow(DateTimeOffset Start, DateTimeOffset End, VersionSample Canary, VersionSample Control);
