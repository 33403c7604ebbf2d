using Kubestead.Analysis;
using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>
/// Issue #29 items 5 and 9: the `mann-whitney` engine judges what a spec with `judge: mann-whitney` judges, windows of the
/// scrape interval read from the scraped per-pod counters, not the ticks' exact counts.
/// </summary>
public class ScrapedMannWhitneyTests
{
    /// <summary>Scraped counts that remember which windows were asked for and answer every one with the same counts.</summary>
    private sealed class RecordingScrape(MetricWindow answer) : IScrapedCounts
    {
        public List<(double Start, double End)> Asked { get; } = [];

        public MetricWindow Window(double start, double end)
        {
            Asked.Add((start, end));
            return answer;
        }
    }

    [Fact]
    public void Its_windows_are_the_scrape_interval_long_and_their_counts_come_from_the_scraped_counters()
    {
        var scenario = new ScenarioFile
        {
            TickSeconds = 5, Rps = [200], Weights = [0.25], Faults = [new FaultSpec()], TMaxSeconds = 1800,
            Environments = [new EnvironmentSpec { Name = "scrape15s", Scrape = new ScrapeSpec { IntervalSeconds = 15 } }],
        };
        var cell = scenario.Cells().Single();
        // The scraped windows say the canary fails every request; the ticks say nothing fails. Judged on the scraped
        // counts the canary fails at the first look (10 windows); on the ticks' it could never fail.
        var scrape = new RecordingScrape(new MetricWindow(default, default, new VersionSample(750, 750), new VersionSample(2250, 0)));
        var policy = EngineRegistry.Create("mann-whitney", scenario, cell, scrape);
        var (decision, time) = SyntheticTicks.Drive(policy, 360, 5, (t, w) => new Tick(t, 50, 0, 150, 0, new long[TrafficModel.Bounds.Length], new long[TrafficModel.Bounds.Length], w));

        Assert.Equal(Decision.Rollback, decision);
        Assert.Equal(150, time);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (15.0 * i, 15.0 * (i + 1))), scrape.Asked);
    }
}
