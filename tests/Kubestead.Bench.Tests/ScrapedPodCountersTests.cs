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

    [Fact]
    public void A_windows_pods_are_the_series_present_at_both_edges_and_sum_to_its_totals()
    {
        // Failed scrapes, replacements and a scale-down: windows where some series are missing at an edge or reset.
        var spec = new ScrapeSpec { IntervalSeconds = 15, FailureRate = 0.05, ReplacementEverySeconds = 600, ScaleDownAtSeconds = 1800, ScaleDownStablePods = 2 };
        var counters = new ScrapedPodCounters(spec, 5, 2, new Rng(11));
        var rng = new Rng(12);
        for (var t = 0; t < 3600; t += 5) counters.Record(t, 5, 50, rng.Binomial(50, 0.1), 150, rng.Binomial(150, 0.1));
        var windows = Enumerable.Range(0, 59).Select(k => counters.Window(k * 60, (k + 1) * 60)).ToList();
        foreach (var w in windows)
        {
            Assert.NotNull(w.Canary.Pods);
            Assert.NotNull(w.Control.Pods);
            Assert.Equal(w.Canary.Requests, w.Canary.Pods!.Sum(p => p.Requests));
            Assert.Equal(w.Canary.Failures, w.Canary.Pods!.Sum(p => p.Failures));
            Assert.Equal(w.Control.Requests, w.Control.Pods!.Sum(p => p.Requests));
            Assert.Equal(w.Control.Failures, w.Control.Pods!.Sum(p => p.Failures));
            Assert.Equal(w.Control.Pods!.Count, w.Control.Pods!.Select(p => p.Pod).Distinct().Count());
            Assert.All(w.Canary.Pods!, p => Assert.StartsWith("canary-", p.Pod));
            Assert.All(w.Control.Pods!, p => Assert.StartsWith("stable-", p.Pod));
        }
        // Some windows miss a series (fewer pods than live), most have them all, and replaced pods appear under new names.
        Assert.Contains(windows, w => w.Control.Pods!.Count + w.Canary.Pods!.Count < 7);
        Assert.Contains(windows, w => w.Control.Pods!.Count == 5 && w.Canary.Pods!.Count == 2);
        Assert.True(windows.SelectMany(w => w.Control.Pods!.Concat(w.Canary.Pods!)).Select(p => p.Pod).Distinct().Count() > 7);
        // After the scale-down only three stable series remain.
        Assert.All(windows.Skip(31), w => Assert.InRange(w.Control.Pods!.Count, 0, 3));
    }

    [Fact]
    public void Counts_added_pod_by_pod_land_on_their_own_series()
    {
        var counters = new ScrapedPodCounters(new ScrapeSpec { IntervalSeconds = 15 }, 2, 1, new Rng(3));
        for (var t = 0; t < 400; t++)
        {
            counters.Advance(t, 1);
            counters.Add(new PodTickCounts([10], [1]), new PodTickCounts([40, 50], [0, 9]));
        }
        var w = counters.Window(120, 180);
        Assert.Equal(new long[] { 2400, 3000 }, w.Control.Pods!.Select(p => p.Requests));
        Assert.Equal(new long[] { 0, 540 }, w.Control.Pods!.Select(p => p.Failures));
        Assert.Equal((600, 60), (w.Canary.Requests, w.Canary.Failures));
        var wrong = Assert.Throws<ArgumentException>(() => counters.Add(new PodTickCounts([1], [0]), new PodTickCounts([1], [0])));
        Assert.Contains("stable counts are for 1 pods; 2 stable pods are live", wrong.Message);
    }
}
