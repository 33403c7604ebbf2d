using Kubestead.Analysis;
using Xunit.Abstractions;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>
/// Issue #29 item 3: the default judge (the engine's background Fail test with restarts, and its Pass test) when pods'
/// failure rates differ from pod to pod (CV 0.8) and each pod keeps its rate for 30 s to 10 minutes, longer than a
/// window, with random phases. Ten pods, 200 rps, p0 = 1%, one-minute windows over 30 minutes, alpha 5% (each direction
/// at 2.5%). Counters move in 15-second steps (a pod's state changes only on that grid). Before the judge learned the
/// pods' persistent dispersion from the control's own pods, A/A false aborts at 10% weight were about 15% and a canary
/// 5x worse on average was promoted about 15-33% of the time at 50% weight.
/// </summary>
public class PersistentPodEffectTests(ITestOutputHelper output)
{
    private const int Pods = 10;
    private const double TotalRps = 200;
    private const double P0 = 0.01;
    private const int TickSeconds = 15;
    private const int TicksPerWindow = 4;
    private const int Windows = 30;

    /// <summary>Runs one rollout; returns the first decisive verdict (or InsufficientData after the last window).</summary>
    internal static VerdictOutcome Run(Random rng, double weight, int canaryPods, double canaryMultiplier, double cv, bool perPod = true) =>
        Run(rng, weight, canaryPods, canaryMultiplier, cv, cv, perPod).Outcome;

    /// <summary>One rollout with the canary's and the control's pods varying by their own CVs; the verdict and its window (1-based).</summary>
    internal static (VerdictOutcome Outcome, int Window) Run(Random rng, double weight, int canaryPods, double canaryMultiplier, double canaryCv, double controlCv, bool perPod) =>
        Run(rng, weight, canaryPods, canaryMultiplier, canaryCv, controlCv, perPod, TotalRps, stopAtVerdict: true).Outcome;

    /// <summary>The same rollout at <paramref name="totalRps"/>; with <paramref name="stopAtVerdict"/> false it runs all windows (the judge is returned).</summary>
    internal static ((VerdictOutcome Outcome, int Window) Outcome, SequentialErrorRateJudge Judge) Run(Random rng, double weight, int canaryPods, double canaryMultiplier,
        double canaryCv, double controlCv, bool perPod, double totalRps, bool stopAtVerdict, int ticksPerWindow = TicksPerWindow, int windows = Windows,
        int historyWindows = 0, double? historyCv = null, double p0 = P0, SequentialJudgeOptions? options = null, (int Min, int Max)? stateTicks = null)
    {
        var judge = new SequentialErrorRateJudge("errors", options ?? new SequentialJudgeOptions(Restarts: RestartMixtureOptions.Default));
        int StateTicks(Random r) => stateTicks is var (min, max) ? min + r.Next(max - min + 1) : PersistentPodEffectTests.StateTicks(r);
        var state = new double[Pods];
        var left = new int[Pods];
        for (var pod = 0; pod < Pods; pod++)
        {
            state[pod] = RateMultiplier(rng, pod < canaryPods ? canaryCv : controlCv);
            left[pod] = 1 + rng.Next(StateTicks(rng)); // random phase: the first state is already under way
        }
        var origin = DateTimeOffset.UnixEpoch;
        // The control's history (issue #29): before the canary exists all traffic is on the control's pods, whose states
        // go on into the rollout (the same process); the judge learns from it before its first bet.
        for (var h = 0; h < historyWindows; h++)
        {
            var requests = new long[Pods];
            var failures = new long[Pods];
            for (var tick = 0; tick < ticksPerWindow; tick++)
                for (var pod = canaryPods; pod < Pods; pod++)
                {
                    if (--left[pod] < 0 || h == 0 && historyCv is not null) { state[pod] = RateMultiplier(rng, historyCv ?? controlCv); left[pod] = StateTicks(rng) - 1; }
                    var n = (long)Math.Round(totalRps / (Pods - canaryPods) * TickSeconds);
                    requests[pod] += n;
                    failures[pod] += Math.Min(n, RandomDraws.Poisson(rng, n * Math.Min(1, p0 * state[pod])));
                }
            var start = origin.AddSeconds((h - historyWindows) * TickSeconds * ticksPerWindow);
            judge.LearnHistory(new MetricWindow(start, start.AddSeconds(TickSeconds * ticksPerWindow), VersionSample.Empty,
                Sample(requests, failures, canaryPods, Pods, perPod)));
        }
        // A history of another regime (historyCv) ends at the rollout's start: every control pod draws a new state there.
        if (historyWindows > 0 && historyCv is not null)
            for (var pod = canaryPods; pod < Pods; pod++) { state[pod] = RateMultiplier(rng, controlCv); left[pod] = StateTicks(rng); }
        for (var w = 0; w < windows; w++)
        {
            var requests = new long[Pods];
            var failures = new long[Pods];
            for (var tick = 0; tick < ticksPerWindow; tick++)
                for (var pod = 0; pod < Pods; pod++)
                {
                    if (--left[pod] < 0) { state[pod] = RateMultiplier(rng, pod < canaryPods ? canaryCv : controlCv); left[pod] = StateTicks(rng) - 1; }
                    var canary = pod < canaryPods;
                    var rps = canary ? totalRps * weight / canaryPods : totalRps * (1 - weight) / (Pods - canaryPods);
                    var n = (long)Math.Round(rps * TickSeconds);
                    requests[pod] += n;
                    failures[pod] += Math.Min(n, RandomDraws.Poisson(rng, n * Math.Min(1, p0 * state[pod] * (canary ? canaryMultiplier : 1))));
                }
            var canarySide = Sample(requests, failures, 0, canaryPods, perPod);
            var controlSide = Sample(requests, failures, canaryPods, Pods, perPod);
            var start = origin.AddSeconds(w * TickSeconds * ticksPerWindow);
            judge.Observe(new MetricWindow(start, start.AddSeconds(TickSeconds * ticksPerWindow), canarySide, controlSide));
            var v = judge.Evaluate().Outcome;
            if (stopAtVerdict && v is VerdictOutcome.Fail or VerdictOutcome.Pass) return ((v, w + 1), judge);
        }
        return ((VerdictOutcome.InsufficientData, windows), judge);
    }

    private static VersionSample Sample(long[] requests, long[] failures, int from, int to, bool perPod)
    {
        long n = 0, x = 0;
        var pods = new List<PodSample>();
        for (var pod = from; pod < to; pod++)
        {
            n += requests[pod];
            x += failures[pod];
            pods.Add(new PodSample("pod-" + pod, requests[pod], failures[pod]));
        }
        return new VersionSample(n, x, null, perPod ? pods : null);
    }

    /// <summary>A state lasts 30 s to 10 minutes (uniform, on the 15 s grid).</summary>
    private static int StateTicks(Random rng) => 2 + rng.Next(39);

    /// <summary>Gamma with mean 1 and coefficient of variation <paramref name="cv"/>.</summary>
    private static double RateMultiplier(Random rng, double cv) => cv > 0 ? RandomDraws.Gamma(rng, 1 / (cv * cv)) * cv * cv : 1;

    internal static int Count(int seed, int runs, double weight, int canaryPods, double multiplier, double cv, VerdictOutcome outcome, bool perPod = true)
    {
        var rng = new Random(seed);
        var hits = 0;
        for (var r = 0; r < runs; r++)
            if (Run(rng, weight, canaryPods, multiplier, cv, perPod) == outcome) hits++;
        return hits;
    }

    /// <summary>The goal (2.5%) plus two binomial standard errors at that rate: a valid judge stays below it ~98% of the time.</summary>
    private static int Bound(int runs) => (int)Math.Floor(runs * 0.025 + 2 * Math.Sqrt(runs * 0.025 * 0.975));

    [Fact]
    public void A_A_false_aborts_stay_within_the_goal_when_pod_rates_vary_and_persist_beyond_a_window()
    {
        const int runs = 300;
        var aborts = Count(2901, runs, 0.10, 1, 1, 0.8, VerdictOutcome.Fail);
        output.WriteLine($"A/A, CV 0.8 persistent, 10%: {aborts}/{runs} false aborts (bound {Bound(runs)})");
        Assert.True(aborts <= Bound(runs), $"{aborts} false aborts in {runs} A/A runs at 10% weight with persistent pod effects (CV 0.8); bound {Bound(runs)}");
    }

    [Fact]
    public void A_canary_5x_worse_on_average_is_rarely_promoted_when_its_pods_vary_and_persist()
    {
        const int runs = 300;
        var passes = Count(2902, runs, 0.50, 2, 5, 0.8, VerdictOutcome.Pass);
        output.WriteLine($"5x on average, CV 0.8 persistent, 50%: {passes}/{runs} promoted (bound {Bound(runs)})");
        Assert.True(passes <= Bound(runs), $"a canary 5x worse on average was promoted {passes} times in {runs} runs at 50% weight (CV 0.8); bound {Bound(runs)}");
    }

    /// <summary>Fails, Passes and the mean window of the Fails over <paramref name="runs"/> seeded rollouts.</summary>
    private static (int Fails, int Passes, double MeanFailWindow) Outcomes(int seed, int runs, double weight, int canaryPods, double multiplier, double canaryCv, double controlCv, bool perPod)
    {
        var rng = new Random(seed);
        int fails = 0, passes = 0;
        var windows = 0.0;
        for (var r = 0; r < runs; r++)
        {
            var (outcome, window) = Run(rng, weight, canaryPods, multiplier, canaryCv, controlCv, perPod);
            if (outcome == VerdictOutcome.Fail) { fails++; windows += window; }
            if (outcome == VerdictOutcome.Pass) passes++;
        }
        return (fails, passes, fails == 0 ? double.NaN : windows / fails);
    }

    /// <summary>How many of <paramref name="runs"/> seeded rollouts (one random stream) <paramref name="counts"/>.</summary>
    private static int Rollouts(int seed, int runs, Func<Random, bool> counts)
    {
        var rng = new Random(seed);
        var hits = 0;
        for (var r = 0; r < runs; r++)
            if (counts(rng)) hits++;
        return hits;
    }

    /// <summary>
    /// The bench's `persistent` cell with one canary pod at CV 1.0, 50% weight, 20 rps, at the product's default interval
    /// for 15 s scrapes (15-second windows, one tick each, for 30 minutes): how many of 300 seeded rollouts end in
    /// <paramref name="outcome"/>, against the goal's bound.
    /// </summary>
    private void AssertRareAtScrapeInterval(int seed, double multiplier, VerdictOutcome outcome, string what)
    {
        const int runs = 300;
        var hits = Rollouts(seed, runs, rng => Run(rng, 0.5, 1, multiplier, 1.0, 1.0, perPod: true, 20, stopAtVerdict: true, ticksPerWindow: 1, windows: 120).Outcome.Outcome == outcome);
        output.WriteLine($"{what}, CV 1.0 persistent, one canary pod, 20 rps, 50%, 15 s windows: {hits}/{runs} (bound {Bound(runs)})");
        Assert.True(hits <= Bound(runs), $"{what}: {hits} of {runs} rollouts at 15 s windows (one canary pod, CV 1.0); bound {Bound(runs)}");
    }

    // Issue #29 (round 5): the Fail side read the dispersion net of its noise, which at about 0.2 expected failures per
    // control pod a window stayed 0 (D = 1) for most of a rollout: 13% false aborts in the bench, 46 of 300 here.
    [Fact]
    public void A_A_false_aborts_stay_within_the_goal_at_15_second_windows_with_one_heterogeneous_canary_pod() =>
        AssertRareAtScrapeInterval(2913, 1, VerdictOutcome.Fail, "A/A false aborts");

    // A canary 5x worse on average: its one pod's gamma states put 2.3% of their time below 0.023 of the mean (the
    // log-normal band of the same CV assumed 0.17), so the Pass side promoted it on a low stretch: 24 of 300 here.
    [Fact]
    public void A_canary_5x_worse_on_average_at_one_CV_1_pod_is_rarely_promoted_at_15_second_windows() =>
        AssertRareAtScrapeInterval(2914, 5, VerdictOutcome.Pass, "5x on average promoted");

    [Fact]
    public void Identical_pods_narrow_the_pass_band_within_two_minutes_of_15_second_windows()
    {
        // Both sides read an upper bound on the pods' persistent dispersion, so where pods are alike that bound must come
        // down fast: pairing each window with the last eight (not only the last one) gives about eight times the pairs.
        const int runs = 200;
        var bands = new List<double>();
        var rng = new Random(2915);
        for (var r = 0; r < runs; r++)
            bands.Add(Run(rng, 0.25, 1, 1, 0, 0, perPod: true, totalRps: 200, stopAtVerdict: false, ticksPerWindow: 1, windows: 8).Judge.PassPodAllowance);
        bands.Sort();
        var median = bands[runs / 2];
        output.WriteLine($"identical pods, 200 rps, 25%, after 8 windows of 15 s: median Pass band {median:0.000}, p90 {bands[runs * 9 / 10]:0.000}");
        Assert.True(median <= 1.6, $"the Pass band after two minutes of identical pods is {median:0.000} in the median rollout");
    }

    [Fact]
    public void A_canary_5x_worse_on_average_at_one_heterogeneous_pod_is_rarely_promoted()
    {
        // Issue #29 item 3: one canary pod among ten at 50% weight, 20 rps, CV 1.0 persistent states (the bench's
        // `persistent` cell where 26% escaped). Most escapes were Passes in windows 3-4, before any dispersion was learned
        // (D = 1), and the rest rode a low state on an allowance learned too small: the Pass side now uses an upper bound.
        const int runs = 300;
        var passes = Rollouts(2912, runs, rng => Run(rng, 0.5, 1, 5, 1.0, 1.0, perPod: true, totalRps: 20, stopAtVerdict: true).Outcome.Outcome == VerdictOutcome.Pass);
        output.WriteLine($"5x on average, CV 1.0 persistent, one pod, 20 rps, 50%: {passes}/{runs} promoted (bound {Bound(runs)})");
        Assert.True(passes <= Bound(runs), $"a canary 5x worse on average was promoted {passes} times in {runs} runs (one pod, CV 1.0); bound {Bound(runs)}");
    }

    [Fact]
    public void Homogeneous_pods_keep_the_judges_speed_per_pod_counts_change_little()
    {
        // Per-pod counts must not cost power where nothing persists: a 5x canary at 25% weight (2 of 10 pods) is caught
        // as fast with them as without (the learned dispersion stays near 0), and a good canary still passes.
        const int runs = 200;
        var with = Outcomes(2903, runs, 0.25, 2, 5, 0, 0, perPod: true);
        var without = Outcomes(2903, runs, 0.25, 2, 5, 0, 0, perPod: false);
        var good = Outcomes(2904, runs, 0.25, 2, 1, 0, 0, perPod: true);
        output.WriteLine($"5x, CV 0, 25%: with pods {with.Fails}/{runs} caught, mean window {with.MeanFailWindow:0.00}; without {without.Fails}/{runs}, {without.MeanFailWindow:0.00}; good canary passed {good.Passes}/{runs}");
        Assert.True(with.Fails >= runs * 0.97, $"with per-pod counts only {with.Fails} of {runs} 5x canaries were caught");
        Assert.True(with.MeanFailWindow <= without.MeanFailWindow * 1.15, $"mean windows to Fail {with.MeanFailWindow:0.00} with per-pod counts against {without.MeanFailWindow:0.00} without");
        Assert.True(good.Passes >= runs * 0.9, $"a good canary passed only {good.Passes} of {runs} times with homogeneous pods");
    }

    [Fact]
    public void Under_persistent_pod_effects_a_10x_canary_is_still_caught_and_a_good_one_can_pass()
    {
        // The price of the widened nulls, measured (docs/analysis.md quotes these): a 10x canary at 25% weight with CV 0.8
        // persistent effects on every pod, and a good canary's chance to pass within 30 minutes at 50% weight.
        const int runs = 200;
        var bad = Outcomes(2905, runs, 0.25, 2, 10, 0.8, 0.8, perPod: true);
        var good = Outcomes(2906, runs, 0.50, 2, 1, 0.8, 0.8, perPod: true);
        output.WriteLine($"10x, CV 0.8, 25%: caught {bad.Fails}/{runs}, mean window {bad.MeanFailWindow:0.00}; good at 50%: passed {good.Passes}/{runs}, failed {good.Fails}");
        Assert.True(bad.Fails >= runs * 0.9, $"a 10x canary under persistent pod effects was caught only {bad.Fails} of {runs} times in 30 minutes");
    }

    [Fact]
    public void The_assumption_fails_when_only_the_canary_pods_vary_and_persist()
    {
        // The counterexample of docs/analysis.md: the control's pods are homogeneous (nothing to learn: D stays 1) while
        // the one canary pod sits on a bad node whose rate varies with CV 0.8 and persists. The canary is not worse on
        // average, yet it is aborted far above the goal: the guarantee needs the canary's pods to vary no more than the
        // control's. If this stops failing, the simulation no longer shows the violation.
        const int runs = 300;
        var aborts = Outcomes(2907, runs, 0.10, 1, 1, 0.8, 0, perPod: true).Fails;
        output.WriteLine($"canary-only persistent CV 0.8, 10%: {aborts}/{runs} false aborts");
        Assert.True(aborts > Bound(runs), $"only {aborts} false aborts in {runs} runs with canary-only persistent effects");
    }

    [Fact]
    public void A_judge_restored_mid_rollout_keeps_what_it_learned_from_the_pods()
    {
        // The learned dispersion is part of the rollout's state: a driver that takes over judges the next windows with
        // the same allowance and the same evidence as the driver that saved it.
        var rng = new Random(2908);
        var windows = Enumerable.Range(0, 12).Select(w =>
        {
            var start = DateTimeOffset.UnixEpoch.AddMinutes(w);
            var pods = Enumerable.Range(0, 8).Select(p => new PodSample("stable-" + p, 1000, rng.Next(2, 6) * (p == w % 8 || p == 3 ? 4 : 1))).ToList();
            return new MetricWindow(start, start.AddMinutes(1), new VersionSample(500, rng.Next(3, 20), null, [new PodSample("canary-0", 500, 9)]),
                new VersionSample(8000, pods.Sum(p => p.Failures), null, pods));
        }).ToList();
        var options = new SequentialJudgeOptions(Restarts: RestartMixtureOptions.Default);
        var whole = new SequentialErrorRateJudge("errors", options);
        var first = new SequentialErrorRateJudge("errors", options);
        foreach (var w in windows.Take(6)) { whole.Observe(w); first.Observe(w); }
        var second = new SequentialErrorRateJudge("errors", options);
        second.RestoreState(System.Text.Json.Nodes.JsonNode.Parse(first.SaveState().ToJsonString())!.AsObject());
        foreach (var w in windows.Skip(6)) { whole.Observe(w); second.Observe(w); }
        Assert.True(whole.PodAllowance > 1.2, $"the pods' persistent dispersion was not learned (D = {whole.PodAllowance})");
        Assert.Equal(whole.PodAllowance, second.PodAllowance, 12);
        Assert.Equal(whole.FailDispersion, second.FailDispersion);
        Assert.Equal(whole.Evidence.Fail, second.Evidence.Fail, 9);
        Assert.Equal(whole.Evidence.Pass, second.Evidence.Pass, 9);
    }

    [Fact]
    public void A_state_saved_with_only_the_last_window_still_pairs_the_next_one()
    {
        // Rollouts saved before the pairs spanned several windows kept only the last window's deviations ("previous"); a
        // driver that takes one over must go on learning from it, not start again.
        var saved = new System.Text.Json.Nodes.JsonObject
        {
            ["products"] = 0.0, ["weights"] = 0.0, ["squares"] = 0.0, ["noise"] = 0.0, ["seenPods"] = true,
            ["previous"] = new System.Text.Json.Nodes.JsonObject { ["a"] = new System.Text.Json.Nodes.JsonArray(1.0, 10.0), ["b"] = new System.Text.Json.Nodes.JsonArray(-1.0, 10.0) },
        };
        var pods = new PodPersistence();
        pods.Restore(saved);
        pods.Learn([new PodSample("a", 1000, 20), new PodSample("b", 1000, 0)]);
        Assert.Equal(1.0, pods.Estimate, 9);
        Assert.True(pods.FailVariance > 0, "the pair with the restored window was not learned");
    }
}
