using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class ScrapedPodCountersTests
{
    // One canary pod, one stable pod, 10 canary and 90 stable requests a second (1 and 9 failures), 1-second ticks.
    private static ScrapedPodCounters Feed(ScrapeSpec spec, int seconds, Action<ScrapedPodCounters, int>? at = null)
    {
        var counters = new ScrapedPodCounters(spec, 1, 1, new Rng(17));
        for (var t = 0; t < seconds; t++)
        {
            at?.Invoke(counters, t);
            counters.Record(t, 1, 10, 1, 90, 9);
        }
        return counters;
    }

    [Fact]
    public void Per_series_differences_give_the_windows_counts_whatever_the_scrape_offsets()
    {
        var counters = Feed(new ScrapeSpec { IntervalSeconds = 15 }, 400);
        var w = counters.Window(120, 180);
        Assert.Equal((600, 60, 5400, 540), (w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures));
    }

    [Fact]
    public void A_replaced_pod_counts_in_no_window_that_spans_the_replacement_and_fully_after_it()
    {
        // The stable pod is replaced at t = 150: the old series ends, the new one starts from 0 at its own offset.
        var counters = Feed(new ScrapeSpec { IntervalSeconds = 15 }, 400, (c, t) => { if (t == 150) c.ReplaceStablePod(0, t); });
        Assert.Equal(3, counters.SeriesCount);
        var spanning = counters.Window(120, 180);
        Assert.Equal(600, spanning.Canary.Requests);
        Assert.Equal(0, spanning.Control.Requests);
        var after = counters.Window(180, 240);
        Assert.Equal(5400, after.Control.Requests);
        Assert.Equal(540, after.Control.Failures);
    }

    [Fact]
    public void A_series_absent_at_an_edge_after_a_failed_scrape_is_left_out_not_counted_from_zero()
    {
        var counters = Feed(new ScrapeSpec { IntervalSeconds = 15, FailureRate = 0.3 }, 3600);
        var windows = Enumerable.Range(0, 59).Select(k => counters.Window(k * 60, (k + 1) * 60)).ToList();
        // A window counts each series either fully (600 canary requests a minute) or not at all: never lifetime totals.
        Assert.All(windows, w => Assert.Contains(w.Canary.Requests, new long[] { 0, 600 }));
        Assert.All(windows, w => Assert.Contains(w.Control.Requests, new long[] { 0, 5400 }));
        Assert.Contains(windows, w => w.Canary.Requests == 0);
        Assert.Contains(windows, w => w.Canary.Requests == 600);
    }

    [Fact]
    public void Scale_down_removes_series_and_moves_their_traffic_to_the_remaining_pods()
    {
        var counters = new ScrapedPodCounters(new ScrapeSpec { IntervalSeconds = 15, ScaleDownAtSeconds = 150, ScaleDownStablePods = 2 }, 3, 1, new Rng(5));
        for (var t = 0; t < 400; t++) counters.Record(t, 1, 10, 1, 90, 9);
        Assert.Equal(1, counters.LiveStablePods);
        var spanning = counters.Window(120, 180);
        Assert.InRange(spanning.Control.Requests, 1, 5399);
        Assert.Equal(5400, counters.Window(180, 240).Control.Requests);
    }
}
