using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Core.Tests.Rollouts;

public class AnalysisTimelineTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>A long rollout: thousands of windows through the real runner and judges, then the status as the store writes it.</summary>
    [Theory]
    [InlineData(1, 5000)]
    [InlineData(3, 3000)]
    public async Task A_long_rollout_keeps_the_state_far_below_the_ConfigMap_limit(int metrics, int windows)
    {
        var rng = new Random(7);
        var bindings = Enumerable.Range(0, metrics).Select(i => new MetricBinding($"metric-{i}-with-a-longish-name",
            new SequentialErrorRateJudge($"metric-{i}-with-a-longish-name"), // the runner records every window, decided or not
            (start, end, _) => Task.FromResult(new MetricWindow(start, end,
                new VersionSample(rng.Next(50, 150), rng.Next(0, 3), new LatencyHistogram([50, 100, 250, double.PositiveInfinity], [40, 80, 95, 100])),
                new VersionSample(rng.Next(900, 1100), rng.Next(0, 5), new LatencyHistogram([50, 100, 250, double.PositiveInfinity], [50, 90, 99, 100])))))
        {
            // The engine's background test: the restart mixture, whose state does not grow with the starts.
            Background = new SequentialErrorRateJudge($"metric-{i}-with-a-longish-name", new SequentialJudgeOptions(Restarts: RestartMixtureOptions.Default)),
        }).ToList();
        var runner = new AnalysisRunner(new AnalysisPlan(Interval, 0, 3, 0), bindings);
        var status = BusyStatus() with { AnalysisCursor = T0, CanaryWeight = 5 };

        var (after, produced, _, _) = await runner.CatchUpAsync(status, T0 + Interval * windows, CancellationToken.None);

        Assert.Equal(windows * metrics, produced.Count);
        var timeline = after.Timeline!;
        Assert.Equal(windows, timeline.WindowCount);
        Assert.True(timeline.Windows.Count * metrics <= AnalysisTimeline.MaxMetricRecords, $"{timeline.Windows.Count} windows kept");
        Assert.Equal(windows, timeline.Windows.Sum(w => w.Merged));
        Assert.Equal(T0, timeline.Windows[0].Start);
        Assert.Equal(T0 + Interval * windows, timeline.Windows[^1].End);
        Assert.Equal(1, timeline.Windows[^1].Merged); // the newest windows keep full resolution
        // Merging keeps every request: the totals equal the judge's cumulative counts.
        foreach (var v in after.LastVerdicts)
        {
            Assert.Equal(v.CanaryRequests, timeline.Windows.Sum(w => w.Metrics.Single(m => m.Metric == v.Metric).CanaryRequests));
            Assert.Equal(v.ControlFailures, timeline.Windows.Sum(w => w.Metrics.Single(m => m.Metric == v.Metric).ControlFailures));
        }

        Assert.Equal(metrics, after.BackgroundStates.Count);
        var backgroundBytes = after.BackgroundStates.Values.Sum(b => Encoding.UTF8.GetByteCount(b.ToJsonString()));
        // The restart mixture is one running sum per alternative (3) after version, origin, next start and weight started.
        Assert.All(after.BackgroundStates.Values, b => Assert.Equal(4 + 3, ((JsonArray)b["fail"]!).Count));
        output.WriteLine($"background states: {backgroundBytes} bytes");
        var json = JsonSerializer.Serialize(after, RolloutStateStore.Json);
        var bytes = Encoding.UTF8.GetByteCount(json);
        Assert.True(bytes <= 200 * 1024, $"status is {bytes} bytes");
        var timelineBytes = Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(timeline, RolloutStateStore.Json));
        Assert.True(timelineBytes <= 120 * 1024, $"timeline is {timelineBytes} bytes");
        output.WriteLine($"{metrics} metric(s), {windows} windows: status {bytes} bytes, of which timeline {timelineBytes} bytes ({timeline.Windows.Count} points)");
        // And it reads back as it was written.
        var back = JsonSerializer.Deserialize<RolloutStatus>(json, RolloutStateStore.Json)!;
        Assert.Equal(timeline.Windows.Count, back.Timeline!.Windows.Count);
        Assert.Equal(timeline.Windows[^1].Metrics[0], back.Timeline.Windows[^1].Metrics[0]);
    }

    [Fact]
    public void Windows_record_counts_weight_verdict_and_both_e_values_of_a_sequential_judge()
    {
        var judge = new SequentialErrorRateJudge("error-rate");
        var window = new MetricWindow(T0, T0 + Interval, new VersionSample(100, 9), new VersionSample(1000, 1));
        judge.Observe(window);
        var verdict = judge.Evaluate();
        var m = TimelineMetric.From(window, judge, verdict);
        Assert.Equal((100, 9, 1000, 1), (m.CanaryRequests, m.CanaryFailures, m.ControlRequests, m.ControlFailures));
        Assert.Equal(verdict.Outcome, m.Outcome);
        Assert.Equal(judge.Evidence.Fail, m.EValue!.Value, judge.Evidence.Fail * 1e-3);
        Assert.Equal(judge.Evidence.Pass, m.PassEValue!.Value, judge.Evidence.Pass * 1e-3 + 1e-9);
        Assert.Null(m.CanaryP95Ms);
    }

    [Fact]
    public void Merging_adds_counts_and_keeps_the_later_verdict()
    {
        var a = new TimelineWindow(T0, T0 + Interval, 5, [new TimelineMetric("m", 10, 1, 100, 0, VerdictOutcome.InsufficientData, 2, 0.5, 100, 50)]);
        var b = new TimelineWindow(T0 + Interval, T0 + 2 * Interval, 25, [new TimelineMetric("m", 30, 3, 300, 1, VerdictOutcome.Fail, 60, 0.1, 200, 50)]);
        var merged = TimelineWindow.Merge(a, b);
        Assert.Equal((T0, T0 + 2 * Interval, 25.0, 2), (merged.Start, merged.End, merged.CanaryWeight, merged.Merged));
        var m = merged.Metrics.Single();
        Assert.Equal((40L, 4L, 400L, 1L), (m.CanaryRequests, m.CanaryFailures, m.ControlRequests, m.ControlFailures));
        Assert.Equal((VerdictOutcome.Fail, 60.0, 0.1), (m.Outcome, m.EValue!.Value, m.PassEValue!.Value));
        Assert.Equal(175, m.CanaryP95Ms); // weighted by requests: (100*10 + 200*30) / 40
    }

    /// <summary>What a busy rollout's status holds besides the timeline: a full event history and a stable pod template.</summary>
    private static RolloutStatus BusyStatus()
    {
        var status = new RolloutStatus
        {
            StartedAt = T0,
            StableTemplate = JsonNode.Parse("""{"metadata":{"labels":{"app":"shop"}},"spec":{"containers":[{"name":"shop","image":"registry.example.com/shop:1.0.0","env":[""" +
                                            string.Join(",", Enumerable.Range(0, 40).Select(i => $$"""{"name":"SETTING_{{i}}","value":"some configuration value number {{i}}"}""")) +
                                            "]}]}}")!.AsObject(),
        };
        for (var i = 0; i < RolloutStatus.MaxHistory; i++)
            status = status.WithHistory(new RolloutHistoryEntry(T0 + TimeSpan.FromSeconds(i), "driver@host (ci-job-12345)", "step",
                new string('x', 150) + $" event {i}", 5));
        return status;
    }
}
