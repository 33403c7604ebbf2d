using Kubestead.Analysis;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Rollouts;

public class AnalysisRunnerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly JudgeSpec Sequential = new("sequential", 0.05, 5, 1.0, 0.98, null, null, null);

    /// <summary>Counts proportional to the window's length: 10 canary and 90 control requests a second, at the given failure rates.</summary>
    private sealed class Source(double canaryFailureRate, double controlFailureRate = 0.001)
    {
        public List<(DateTimeOffset Start, DateTimeOffset End)> Queried { get; } = new();

        public Task<MetricWindow> Query(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
        {
            Queried.Add((start, end));
            var s = (end - start).TotalSeconds;
            long nc = (long)(10 * s), ns = (long)(90 * s);
            return Task.FromResult(new MetricWindow(start, end,
                new VersionSample(nc, (long)Math.Round(nc * canaryFailureRate)), new VersionSample(ns, (long)Math.Round(ns * controlFailureRate))));
        }
    }

    private static AnalysisRunner Runner(Source source, bool background = true, TimeSpan warmup = default, bool afterChange = false) =>
        new(new AnalysisPlan(Window, 0, 3, 0) { Background = background, Warmup = warmup, WarmupAfterWeightChange = afterChange },
        [
            new MetricBinding("error-rate", JudgeFactory.Create("error-rate", Sequential), source.Query, Sequential)
            {
                Background = background ? JudgeFactory.Create("error-rate", Sequential) : null,
            },
        ]);

    [Fact]
    public async Task Warm_up_windows_are_reported_and_never_fed_to_a_judge()
    {
        var source = new Source(0.0);
        var runner = Runner(source);
        var status = new RolloutStatus { AnalysisCursor = T0, WarmupUntil = T0.AddSeconds(25) };

        var during = await runner.CatchUpAsync(status, T0.AddSeconds(20), default);
        Assert.True(during.Status.WarmingUp);
        Assert.Equal(2, during.WarmupWindows.Count);
        Assert.Empty(during.NewVerdicts);
        Assert.Empty(source.Queried);

        var after = await runner.CatchUpAsync(during.Status, T0.AddSeconds(60), default);
        // The warm-up window ends where the warm-up does; the judged windows start there.
        Assert.Equal(new WarmupWindow(T0.AddSeconds(20), T0.AddSeconds(25), T0.AddSeconds(25)), Assert.Single(after.WarmupWindows));
        Assert.Equal(T0.AddSeconds(25), source.Queried[0].Start);
        Assert.All(source.Queried, w => Assert.True(w.Start >= T0.AddSeconds(25)));
        Assert.False(after.Status.WarmingUp);
        Assert.Equal(3, after.Status.WarmupWindows);
        // Only the 30 judged seconds reached the judges (10 canary requests a second).
        Assert.Equal(300, after.Status.LastVerdicts.Single().CanaryRequests);
        Assert.Equal(300, after.Status.BackgroundVerdicts.Single().CanaryRequests);
        // The timeline keeps the warm-up as one span (for the report's shading) and only judged windows as windows.
        Assert.Equal([new TimelineSpan(T0, T0.AddSeconds(25))], after.Status.Timeline!.Warmups);
        Assert.All(after.Status.Timeline.Windows, w => Assert.True(w.Start >= T0.AddSeconds(25)));
    }

    [Fact]
    public void Warm_up_starts_when_the_canary_first_gets_traffic_and_after_changes_only_when_asked()
    {
        var status = new RolloutStatus { AnalysisCursor = T0 };
        var once = Runner(new Source(0), warmup: TimeSpan.FromMinutes(1));
        var first = once.WeightInEffect(status, 0, 5, T0.AddSeconds(3));
        Assert.Equal(T0.AddSeconds(63), first.WarmupUntil);
        Assert.Equal(T0.AddSeconds(3), first.AnalysisCursor);
        Assert.Equal(T0.AddSeconds(63), once.WeightInEffect(first, 5, 25, T0.AddMinutes(5)).WarmupUntil);
        var every = Runner(new Source(0), warmup: TimeSpan.FromMinutes(1), afterChange: true);
        Assert.Equal(T0.AddMinutes(6), every.WeightInEffect(first, 5, 25, T0.AddMinutes(5)).WarmupUntil);
        Assert.Null(Runner(new Source(0)).WeightInEffect(status, 0, 5, T0).WarmupUntil);
    }

    [Fact]
    public async Task A_window_closed_at_a_weight_write_ends_there_and_the_next_starts_when_the_weight_is_in_effect()
    {
        var source = new Source(0.0);
        var runner = Runner(source);
        var status = new RolloutStatus { AnalysisCursor = T0, CanaryWeight = 5 };
        var closed = await runner.CatchUpAsync(status, T0.AddSeconds(24), default, closePartial: true);
        Assert.Equal([(T0, T0.AddSeconds(10)), (T0.AddSeconds(10), T0.AddSeconds(20)), (T0.AddSeconds(20), T0.AddSeconds(24))], source.Queried);
        // The route write took 2 seconds: those seconds belong to no window.
        var moved = runner.WeightInEffect(closed.Status, 5, 25, T0.AddSeconds(26));
        await runner.CatchUpAsync(moved, T0.AddSeconds(40), default);
        Assert.Equal((T0.AddSeconds(26), T0.AddSeconds(36)), source.Queried[3]);
        Assert.Equal(4, source.Queried.Count);
    }

    [Fact]
    public async Task A_new_runner_continues_the_saved_background_e_process_to_the_same_e_value()
    {
        var end = T0.AddMinutes(4);
        var straight = await Runner(new Source(0.004)).CatchUpAsync(new RolloutStatus { AnalysisCursor = T0 }, end, default);

        var half = await Runner(new Source(0.004)).CatchUpAsync(new RolloutStatus { AnalysisCursor = T0 }, T0.AddMinutes(2), default);
        // A new driver process: new judges, only the saved status (round-tripped through its JSON form) in common.
        var saved = System.Text.Json.JsonSerializer.Deserialize<RolloutStatus>(
            System.Text.Json.JsonSerializer.Serialize(half.Status, RolloutStateStore.Json), RolloutStateStore.Json)!;
        var resumed = await Runner(new Source(0.004)).CatchUpAsync(saved, end, default);

        var a = straight.Status.BackgroundVerdicts.Single();
        var b = resumed.Status.BackgroundVerdicts.Single();
        Assert.True(half.Status.BackgroundVerdicts.Single().EValue < a.EValue, "the e-process must have moved in the second half");
        Assert.Equal(a.EValue!.Value, b.EValue!.Value, 9);
        Assert.Equal(a.CanaryRequests, b.CanaryRequests);
    }

    [Fact]
    public async Task An_analysis_step_starts_its_judges_from_nothing_while_the_background_e_process_goes_on()
    {
        var runner = Runner(new Source(0.0));
        var before = await runner.CatchUpAsync(new RolloutStatus { AnalysisCursor = T0 }, T0.AddMinutes(3), default);
        var step = runner.StartStep(before.Status, T0.AddMinutes(3), new AnalysisPlanStep(null, true, TimeSpan.FromSeconds(30)));
        Assert.Empty(step.LastVerdicts);
        Assert.Equal(T0.AddMinutes(3).AddSeconds(30), step.WarmupUntil);
        var after = await runner.CatchUpAsync(step, T0.AddMinutes(4), default);
        Assert.Equal(300, after.Status.LastVerdicts.Single().CanaryRequests);
        Assert.Equal(2100, after.Status.BackgroundVerdicts.Single().CanaryRequests);
    }

    /// <summary>Nine identical control pods (10 requests a second each, 2% failures) and one canary pod, counted per pod.</summary>
    private static Task<MetricWindow> PerPodQuery(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var requests = (long)(10 * (end - start).TotalSeconds);
        var pods = Enumerable.Range(0, 9).Select(i => new PodSample("stable-" + i, requests, requests / 50)).ToList();
        var canary = new PodSample("canary-0", requests, requests / 50);
        return Task.FromResult(new MetricWindow(start, end, new VersionSample(requests, canary.Failures, Pods: [canary]),
            new VersionSample(9 * requests, 9 * (requests / 50), Pods: pods)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_new_analysis_step_starts_from_no_evidence_but_keeps_what_was_learned_from_the_control(bool background)
    {
        // Issue #29: the step judges' learners were reset with their evidence, so every step's first window judged with the
        // Pass band at its cap, and the control's history would have been lost after the first step.
        var runner = new AnalysisRunner(new AnalysisPlan(Window, 0, 3, 0) { Background = background },
        [
            new MetricBinding("error-rate", JudgeFactory.Create("error-rate", Sequential), PerPodQuery, Sequential)
            {
                Background = background ? JudgeFactory.Create("error-rate", Sequential) : null,
            },
        ]);
        var judge = (SequentialCountJudge)runner.Metrics[0].Judge;
        var first = await runner.CatchUpAsync(new RolloutStatus { AnalysisCursor = T0 }, T0.AddMinutes(3), default);
        var learned = judge.PassPodAllowance;
        var step = runner.StartStep(first.Status, T0.AddMinutes(3), new AnalysisPlanStep(null, true, TimeSpan.Zero));
        var next = await runner.CatchUpAsync(step, T0.AddMinutes(3).Add(Window), default);

        var cap = new PodPersistence().PassAllowance(1, 9, controlReportsPods: true);
        Assert.True(learned < cap / 2, $"the first step learned nothing: Pass band {learned} (cap {cap})");
        // The second step's first window uses the learned band (one window more of identical pods: no wider), not the cap.
        Assert.InRange(judge.PassPodAllowance, 1, learned);
        // Its evidence is its own: one window's requests.
        Assert.Equal(100, next.Status.LastVerdicts.Single().CanaryRequests);
    }

    [Fact]
    public async Task With_background_analysis_only_the_background_e_process_fails_the_canary()
    {
        var runner = Runner(new Source(0.05));
        var result = await runner.CatchUpAsync(new RolloutStatus { AnalysisCursor = T0 }, T0.AddMinutes(3), default);
        Assert.Equal(VerdictOutcome.Fail, result.Status.BackgroundVerdicts.Single().Outcome);
        Assert.NotEqual(VerdictOutcome.Fail, result.Status.LastVerdicts.Single().Outcome);
        Assert.Equal(GateOutcome.Fail, AnalysisGate.Combine(result.Status, analysisConfigured: true));
        // Without it the step judge fails on its own.
        var alone = await Runner(new Source(0.05), background: false).CatchUpAsync(new RolloutStatus { AnalysisCursor = T0 }, T0.AddMinutes(3), default);
        Assert.Equal(VerdictOutcome.Fail, alone.Status.LastVerdicts.Single().Outcome);
        Assert.Empty(alone.Status.BackgroundVerdicts);
    }
}
