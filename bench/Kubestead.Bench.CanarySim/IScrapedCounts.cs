using Kubestead.Analysis;


namespace Kubestead.Bench.CanarySim;

/// <summary>What a metric source returns for a window when counts come from scraped per-pod counters (issue #18).</summary>
public interface IScrapedCounts
{
    MetricWindow Window(double start, double end);
}
