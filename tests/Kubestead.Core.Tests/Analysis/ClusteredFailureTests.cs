using Kubestead.Analysis;


namespace Kubestead.Core.Tests.Analysis;

/// <summary>
/// Issue #18: the default judge's guarantees when failures cluster. One canary pod beside nine stable pods (share 10%),
/// 20 rps, p0 = 1%, sixty one-minute windows, alpha 5%. Before the window became the unit, bursts of mean 5 gave about
/// 15% false aborts and a 5x-worse canary with a per-minute rate multiplier of CV 1 was passed about 30% of the time.
/// </summary>
public class ClusteredFailureTests
{
    private const int Windows = 60;

    /// <summary>Failures of one pod in one minute: bursts (geometric sizes, mean burstMean) at rate p/burstMean per request.</summary>
    private static int PodFailures(Random rng, int requests, double p, double burstMean)
    {
        var failures = 0;
        var trigger = Math.Min(1, p / burstMean);
        for (var i = 0; i < requests; i++)
        {
            if (rng.NextDouble() >= trigger) continue;
            var size = 1;
            while (rng.NextDouble() >= 1 / burstMean) size++;
            failures += size;
        }
        return Math.Min(requests, failures);
    }

    /// <summary>Runs one rollout; returns the first decisive verdict (or InsufficientData after the last window).</summary>
    private static VerdictOutcome Run(Random rng, SequentialJudgeOptions options, double canaryMultiplier, double rateCv, double burstMean)
    {
        var judge = new SequentialErrorRateJudge("errors", options);
        const double p0 = 0.01;
        for (var w = 0; w < Windows; w++)
        {
            var canaryPods = new[] { 0 };
            var requests = new int[10];
            for (var i = 0; i < 1200; i++) requests[rng.Next(10)]++;
            int nc = 0, xc = 0, ns = 0, xs = 0;
            for (var pod = 0; pod < 10; pod++)
            {
                var g = rateCv > 0 ? RandomDraws.Gamma(rng, 1 / (rateCv * rateCv)) * rateCv * rateCv : 1;
                var canary = canaryPods.Contains(pod);
                var x = PodFailures(rng, requests[pod], p0 * g * (canary ? canaryMultiplier : 1), burstMean);
                if (canary) { nc += requests[pod]; xc += x; } else { ns += requests[pod]; xs += x; }
            }
            judge.Observe(new MetricWindow(default, default, new VersionSample(nc, xc), new VersionSample(ns, xs)));
            var v = judge.Evaluate().Outcome;
            if (v is VerdictOutcome.Fail or VerdictOutcome.Pass) return v;
        }
        return VerdictOutcome.InsufficientData;
    }

    private static double Rate(int seed, int runs, SequentialJudgeOptions options, double multiplier, double cv, double burst, VerdictOutcome outcome)
    {
        var rng = new Random(seed);
        var hits = 0;
        for (var r = 0; r < runs; r++)
            if (Run(rng, options, multiplier, cv, burst) == outcome) hits++;
        return (double)hits / runs;
    }

    [Theory]
    [InlineData(5.0, 0.0)]
    [InlineData(3.0, 0.0)]
    [InlineData(1.0, 1.0)]
    public void A_A_false_aborts_stay_below_alpha_when_failures_come_in_bursts_or_rates_vary(double burstMean, double rateCv)
    {
        // Alpha 5%: the default judge runs each direction at alpha/2 = 2.5%; 400 runs give a standard error of ~0.8%.
        var rate = Rate(1801, 400, new SequentialJudgeOptions(), 1, rateCv, burstMean, VerdictOutcome.Fail);
        Assert.True(rate <= 0.045, $"false-abort rate {rate:P1} with bursts of mean {burstMean} and rate CV {rateCv}");
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(5.0, 0.0)]
    public void A_5x_worse_canary_is_rarely_passed_when_failures_cluster(double burstMean, double rateCv)
    {
        var rate = Rate(1802, 400, new SequentialJudgeOptions(), 5, rateCv, burstMean, VerdictOutcome.Pass);
        Assert.True(rate <= 0.045, $"a 5x canary was passed {rate:P1} of the time (bursts {burstMean}, CV {rateCv})");
    }

    [Fact]
    public void The_per_request_likelihood_ratio_is_what_breaks_under_bursts()
    {
        // The comparison that motivates the window unit: on the same bursts the per-request test aborts good canaries
        // far more often than alpha. If this stops holding, the simulator above no longer clusters failures.
        var rate = Rate(1801, 400, new SequentialJudgeOptions(Unit: EvidenceUnit.Request), 1, 0, 5, VerdictOutcome.Fail);
        Assert.True(rate > 0.08, $"per-request false-abort rate under bursts was only {rate:P1}");
    }
}
