using Kubestead.Analysis;
using Xunit.Abstractions;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>
/// Issue #29 (blast): where the control's own pods show that failures arrive one by one, the Fail test bets the window's
/// likelihood ratio (to the power 1/φ) instead of the capped bet, so a large fault fails in one window; where the control
/// shows bursts, φ grows and the bet stays the capped one, keeping the burst guarantee.
/// </summary>
public class PodDispersionTests(ITestOutputHelper output)
{
    private const int ControlPods = 9;

    /// <summary>A 15 s window at 25% weight: one canary pod of 900 requests beside nine control pods of 300 each.</summary>
    private static MetricWindow Window(int index, long canaryFailures, Func<int, long> controlFailures)
    {
        var start = DateTimeOffset.UnixEpoch.AddSeconds(15 * index);
        var control = Enumerable.Range(0, ControlPods).Select(p => new PodSample("stable-" + p, 300, controlFailures(p))).ToList();
        return new MetricWindow(start, start.AddSeconds(15), new VersionSample(900, canaryFailures, null, [new PodSample("canary-0", 900, canaryFailures)]),
            new VersionSample(300 * ControlPods, control.Sum(p => p.Failures), null, control));
    }

    [Fact]
    public void A_30x_fault_fails_in_its_first_window_once_the_controls_pods_show_binomial_counts()
    {
        var judge = new SequentialErrorRateJudge("errors");
        // Four quiet windows: every control pod fails 3 of 300, the canary 9 of 900 (no evidence either way, and the
        // control's pods disperse no more than binomial noise).
        for (var w = 0; w < 4; w++)
        {
            judge.Observe(Window(w, 9, _ => 3));
            Assert.Equal(VerdictOutcome.InsufficientData, judge.Evaluate().Outcome);
        }
        Assert.Equal(1, judge.FailDispersion);
        // The fault: 270 canary failures against 27. The capped bet can multiply the evidence by at most about
        // 1/θ0 = 4 in a window (about 3 windows to reach 40); the likelihood ratio of 297 failures decides at once.
        judge.Observe(Window(4, 270, _ => 3));
        Assert.Equal(VerdictOutcome.Fail, judge.Evaluate().Outcome);
    }

    [Fact]
    public void When_the_controls_failures_come_in_bursts_a_burst_on_the_canary_does_not_fail_it_in_one_window()
    {
        var judge = new SequentialErrorRateJudge("errors");
        // Eight windows in which one control pod in turn takes a retry storm of 30 failures and the others none.
        for (var w = 0; w < 8; w++) judge.Observe(Window(w, w % 3 == 0 ? 10 : 0, p => p == w % ControlPods ? 30 : 0));
        Assert.True(judge.FailDispersion is null or > 20, $"bursts of 30 on the control's pods learned φ = {judge.FailDispersion}");
        // The same storm on the canary pod: a burst assigned whole to a side, which the capped bet is built for.
        judge.Observe(Window(8, 30, _ => 0));
        Assert.NotEqual(VerdictOutcome.Fail, judge.Evaluate().Outcome);
    }

    [Fact]
    public void Until_enough_control_windows_are_seen_and_without_per_pod_counts_the_bet_stays_capped()
    {
        var learning = new SequentialErrorRateJudge("errors");
        for (var w = 0; w < PodDispersion.MinimumWindows - 1; w++) learning.Observe(Window(w, 9, _ => 3));
        Assert.Null(learning.FailDispersion);
        learning.Observe(Window(PodDispersion.MinimumWindows, 270, _ => 3));
        Assert.NotEqual(VerdictOutcome.Fail, learning.Evaluate().Outcome);

        var totalsOnly = new SequentialErrorRateJudge("errors");
        for (var w = 0; w < 8; w++) totalsOnly.Observe(new MetricWindow(default, default, new VersionSample(900, 9), new VersionSample(2700, 27)));
        Assert.Null(totalsOnly.FailDispersion);
    }

    [Fact]
    public void The_quasi_binomial_bet_is_the_likelihood_ratio_to_the_power_one_over_phi()
    {
        var bets = new WindowBettingEProcess(1, [5], BettingSide.Above) { Dispersion = 2 };
        Span<double> factor = stackalloc double[1];
        Assert.True(bets.LogFactors(900, 60, 2700, 40, factor));
        // θ0 = 900/3600 = 0.25; θ1 = 4500/7200 = 0.625; 60 of 100 failures on the canary.
        var logRatio = 60 * Math.Log(0.625 / 0.25) + 40 * Math.Log(0.375 / 0.75);
        Assert.Equal(logRatio / 2, factor[0], 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => bets.Dispersion = 0.5);
    }

    [Fact]
    public void With_one_failure_in_a_window_the_capped_bet_is_kept_since_it_is_already_the_likelihood_ratio()
    {
        var capped = new WindowBettingEProcess(1, [5], BettingSide.Above);
        var learned = new WindowBettingEProcess(1, [5], BettingSide.Above) { Dispersion = 1.5 };
        Span<double> a = stackalloc double[1];
        Span<double> b = stackalloc double[1];
        capped.LogFactors(900, 1, 2700, 0, a);
        learned.LogFactors(900, 1, 2700, 0, b);
        Assert.Equal(a[0], b[0], 12);
    }

    /// <summary>
    /// One A/A rollout of 120 windows of 15 s (30 minutes) at 20 rps and 10% weight, one canary pod among ten, p0 = 1%:
    /// the control's pods fail one by one, the canary pod's failures come in retry storms (geometric, mean 5) at a fifth
    /// of the rate, so its average rate is the control's. Returns whether the judge aborted the good canary.
    /// </summary>
    private static bool CanaryOnlyBurstsAbort(Random rng, bool perPod)
    {
        const double p0 = 0.01;
        var judge = new SequentialErrorRateJudge("errors", new SequentialJudgeOptions(Restarts: RestartMixtureOptions.Default));
        for (var w = 0; w < 120; w++)
        {
            var canaryFailures = 0L;
            for (var storms = RandomDraws.Poisson(rng, 30 * p0 / 5); storms > 0; storms--)
            {
                var size = 1;
                while (rng.NextDouble() >= 1.0 / 5) size++;
                canaryFailures += size;
            }
            var control = Enumerable.Range(0, ControlPods).Select(p => new PodSample("stable-" + p, 30, RandomDraws.Poisson(rng, 30 * p0))).ToList();
            var start = DateTimeOffset.UnixEpoch.AddSeconds(15 * w);
            judge.Observe(new MetricWindow(start, start.AddSeconds(15),
                new VersionSample(30, canaryFailures, null, perPod ? [new PodSample("canary-0", 30, canaryFailures)] : null),
                new VersionSample(30 * ControlPods, control.Sum(p => p.Failures), null, perPod ? control : null)));
            if (judge.Evaluate().Outcome == VerdictOutcome.Fail) return true;
            if (judge.Evaluate().Outcome == VerdictOutcome.Pass) return false;
        }
        return false;
    }

    [Fact]
    public void The_assumption_fails_when_only_the_canary_pods_failures_come_in_bursts()
    {
        // The counterexample of docs/analysis.md: the control shows no bursts, so φ stays near 1 and a storm on the canary
        // pod is bet on as if its failures were independent. The canary is not worse on average, yet it is aborted far
        // above the goal; the capped bet (a control without per-pod counts) is printed beside it. If this stops failing,
        // the simulation no longer shows the violation.
        const int runs = 200;
        var rng = new Random(2931);
        var learned = Enumerable.Range(0, runs).Count(_ => CanaryOnlyBurstsAbort(rng, perPod: true));
        rng = new Random(2931);
        var capped = Enumerable.Range(0, runs).Count(_ => CanaryOnlyBurstsAbort(rng, perPod: false));
        output.WriteLine($"canary-only bursts (mean 5), 10%: {learned}/{runs} false aborts with φ learned from the control, {capped}/{runs} with the capped bet");
        Assert.True(learned > runs * 0.025 + 2 * Math.Sqrt(runs * 0.025 * 0.975), $"only {learned} false aborts in {runs} runs with canary-only bursts");
    }
}
