namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Counts as Prometheus holds them (issue #18): one cumulative counter series per pod, scraped every
/// <see cref="IntervalSeconds"/> at a per-pod offset; a scrape fails with probability <see cref="FailureRate"/> (Prometheus
/// then writes a staleness marker, so the series is absent until its next good scrape); pods are replaced (a new series
/// from 0) as a Poisson process with mean gap <see cref="ReplacementEverySeconds"/>; at <see cref="ScaleDownAtSeconds"/>
/// <see cref="ScaleDownStablePods"/> stable pods go away (their series disappear, their traffic moves to the others).
/// </summary>
public sealed class ScrapeSpec
{
    public double IntervalSeconds { get; set; } = 15;
    public double FailureRate { get; set; }
    public double LookbackSeconds { get; set; } = 300;
    public double ReplacementEverySeconds { get; set; }
    public double? ScaleDownAtSeconds { get; set; }
    public int ScaleDownStablePods { get; set; }
}
