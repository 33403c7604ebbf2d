using Kubestead.Analysis;


namespace Kubestead.Core.Tests.Analysis;

public class SequentialErrorRateJudgeTests
{
    private static int Poisson(Random rng, double mean)
    {
        if (mean <= 0) return 0;
        if (mean > 60) return Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Gaussian(rng)));
        var l = Math.Exp(-mean);
        int k = 0;
        var p = 1.0;
        do { k++; p *= rng.NextDouble(); } while (p > l);
        return k - 1;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static int Binomial(Random rng, int n, double p)
    {
        if (n * p > 30) return Math.Clamp((int)Math.Round(n * p + Math.Sqrt(n * p * (1 - p)) * Gaussian(rng)), 0, n);
        // For rare failures the Poisson law is the binomial's limit (and the judge's null holds exactly under it).
        if (p < 0.02) return Math.Min(n, Poisson(rng, n * p));
        var x = 0;
        for (var i = 0; i < n; i++) if (rng.NextDouble() < p) x++;
        return x;
    }

    /// <summary>Runs one rollout-long simulation; returns the first decisive outcome (or InsufficientData) and failed canary requests by then.</summary>
    private static (VerdictOutcome Outcome, long Blast) Simulate(Random rng, double rps, double weight, double p0, double multiplier,
        TimeSpan window, TimeSpan duration, bool doubleWeightMidway)
    {
        var judge = new SequentialErrorRateJudge("errors");
        long blast = 0;
        var windows = (int)(duration / window);
        for (var i = 0; i < windows; i++)
        {
            var w = doubleWeightMidway && i >= windows / 2 ? Math.Min(1, weight * 2) : weight;
            var nc = Poisson(rng, rps * w * window.TotalSeconds);
            var ns = Poisson(rng, rps * (1 - w) * window.TotalSeconds);
            var xc = Binomial(rng, nc, Math.Min(1, p0 * multiplier));
            var xs = Binomial(rng, ns, p0);
            blast += xc;
            judge.Observe(new MetricWindow(default, default, new VersionSample(nc, xc), new VersionSample(ns, xs)));
            var v = judge.Evaluate();
            if (v.Outcome == VerdictOutcome.Fail) return (VerdictOutcome.Fail, blast);
        }
        return (judge.Evaluate().Outcome, blast);
    }

    [Theory]
    [InlineData(2, 0.01, false)]
    [InlineData(20, 0.05, true)]
    [InlineData(200, 0.25, false)]
    [InlineData(200, 0.05, true)]
    public void A_A_false_abort_rate_stays_at_or_below_alpha_when_evaluated_every_10_seconds(double rps, double weight, bool weightChanges)
    {
        var rng = new Random(20261122 + (int)(rps * 1000 + weight * 100));
        const int runs = 2000;
        var aborts = 0;
        for (var r = 0; r < runs; r++)
            if (Simulate(rng, rps, weight, 0.001, 1.0, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(30), weightChanges).Outcome == VerdictOutcome.Fail)
                aborts++;
        Assert.True(aborts / (double)runs <= 0.05, $"false-abort rate {aborts / (double)runs:P2} exceeds alpha 5% ({aborts} of {runs})");
    }

    [Theory]
    [InlineData(200, 0.25, 50, 0.99)]
    [InlineData(20, 0.05, 50, 0.99)]
    [InlineData(200, 0.05, 10, 0.99)]
    public void Bad_canaries_are_caught(double rps, double weight, double multiplier, double minCatch)
    {
        var rng = new Random(7);
        const int runs = 300;
        var caught = 0;
        for (var r = 0; r < runs; r++)
            if (Simulate(rng, rps, weight, 0.001, multiplier, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(30), false).Outcome == VerdictOutcome.Fail)
                caught++;
        Assert.True(caught / (double)runs >= minCatch, $"caught {caught} of {runs}");
    }

    [Fact]
    public void A_50x_canary_is_caught_after_a_handful_of_failed_requests_when_evaluated_every_second()
    {
        // The judge is anytime-valid, so it may be evaluated at every scrape: here every second.
        var rng = new Random(3);
        var blasts = Enumerable.Range(0, 300).Select(_ => Simulate(rng, 200, 0.25, 0.001, 50, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(30), false))
            .Where(x => x.Outcome == VerdictOutcome.Fail).Select(x => x.Blast).ToList();
        Assert.True(blasts.Average() <= 10, $"mean blast radius {blasts.Average():0.#} failed requests");
    }

    [Fact]
    public void Zero_requests_is_insufficient_data_never_pass()
    {
        var judge = new SequentialErrorRateJudge("errors");
        for (var i = 0; i < 1000; i++)
            judge.Observe(new MetricWindow(default, default, VersionSample.Empty, new VersionSample(1000, 1)));
        var v = judge.Evaluate();
        Assert.Equal(VerdictOutcome.InsufficientData, v.Outcome);
        Assert.Equal(0, v.CanaryRequests);
        Assert.Contains("no requests", v.Summary);
    }

    [Fact]
    public void A_healthy_canary_with_enough_traffic_passes()
    {
        var judge = new SequentialErrorRateJudge("errors");
        for (var i = 0; i < 30; i++)
            judge.Observe(new MetricWindow(default, default, new VersionSample(3000, 3), new VersionSample(9000, 9)));
        var v = judge.Evaluate();
        Assert.Equal(VerdictOutcome.Pass, v.Outcome);
        Assert.True(v.EValue >= 20);
        Assert.Equal(1.0, v.Effect!.Value, 6);
    }

    [Fact]
    public void State_round_trips_so_another_process_continues_the_same_test()
    {
        var a = new SequentialErrorRateJudge("errors");
        a.Observe(new MetricWindow(default, default, new VersionSample(500, 4), new VersionSample(5000, 5)));
        var b = new SequentialErrorRateJudge("errors");
        b.RestoreState(a.SaveState());
        var next = new MetricWindow(default, default, new VersionSample(500, 3), new VersionSample(5000, 4));
        a.Observe(next);
        b.Observe(next);
        Assert.Equal(a.Evaluate(), b.Evaluate());
    }
}

public class OtherJudgeTests
{
    [Fact]
    public void Mann_whitney_matches_scipy_reference()
    {
        // Reference: SciPy's scipy.stats.mannwhitneyu documentation example (males vs females),
        // method="asymptotic", use_continuity=True: statistic 17.0, p-value 0.11134688653314041 (two-sided).
        var (u, p) = MannWhitneyTest.Run([19, 22, 16, 29, 24], [20, 11, 17, 12], TestDirection.Either);
        Assert.Equal(17.0, u);
        Assert.Equal(0.11134688653314041, p, 9);
        // One-sided (x greater): half of the two-sided value here.
        var (_, pGreater) = MannWhitneyTest.Run([19, 22, 16, 29, 24], [20, 11, 17, 12], TestDirection.Increase);
        Assert.Equal(0.11134688653314041 / 2, pGreater, 9);
    }

    [Fact]
    public void Threshold_judge_calls_an_empty_window_insufficient_not_failed()
    {
        var j = new ThresholdJudge("errors", 99, null);
        j.Observe(new MetricWindow(default, default, VersionSample.Empty, new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.InsufficientData, j.Evaluate().Outcome);
        j.Observe(new MetricWindow(default, default, new VersionSample(100, 2), new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.Fail, j.Evaluate().Outcome);
        j.Observe(new MetricWindow(default, default, new VersionSample(100, 1), new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.Pass, j.Evaluate().Outcome);
    }

    [Fact]
    public void Threshold_judge_calls_too_few_canary_requests_insufficient_unless_their_failures_already_break_it()
    {
        // One successful request is not "100% success" (a low-traffic canary passed a 99% check on it).
        var j = new ThresholdJudge("errors", 99, null);
        Assert.Equal(100, j.MinRequests);
        j.Observe(new MetricWindow(default, default, new VersionSample(1, 0), new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.InsufficientData, j.Evaluate().Outcome);
        j.Observe(new MetricWindow(default, default, new VersionSample(99, 1), new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.InsufficientData, j.Evaluate().Outcome);
        // Two failures break 99% at 100 requests whatever the rest do.
        j.Observe(new MetricWindow(default, default, new VersionSample(5, 2), new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.Fail, j.Evaluate().Outcome);
        j.Observe(new MetricWindow(default, default, new VersionSample(100, 0), new VersionSample(100, 0)));
        Assert.Equal(VerdictOutcome.Pass, j.Evaluate().Outcome);
    }

    [Theory]
    [InlineData(99.0, null, 100)]
    [InlineData(95.0, null, 20)]
    [InlineData(99.9, null, 1000)]
    [InlineData(null, 500.0, 100)]
    [InlineData(90.0, 500.0, 100)]
    [InlineData(100.0, null, 100)]
    public void Threshold_judge_default_minimum_follows_its_thresholds(double? successRate, double? p99, long expected) =>
        Assert.Equal(expected, ThresholdJudge.DefaultMinRequests(successRate, p99));

    [Fact]
    public void Threshold_judge_minimum_can_be_set_in_the_spec_and_is_checked()
    {
        var ok = Kubestead.Specs.RolloutSpecParser.Parse(SpecWithThreshold("{ successRate: 99, minRequests: 20 }"));
        Assert.True(ok.IsValid, string.Join("; ", ok.Problems));
        var judgeSpec = ok.Spec!.Analysis!.Metrics[0].Judge;
        Assert.Equal(20, judgeSpec.MinRequests);
        Assert.Equal(20, ((ThresholdJudge)JudgeFactory.Create("m", judgeSpec)).MinRequests);
        var bad = Kubestead.Specs.RolloutSpecParser.Parse(SpecWithThreshold("{ successRate: 99, minRequests: 2.5 }"));
        Assert.Contains(bad.Problems, p => p.Field.EndsWith("judge.threshold.minRequests", StringComparison.Ordinal));
    }

    private static string SpecWithThreshold(string threshold) => $$"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: { name: shop, namespace: shop }
        spec:
          service: shop
          meshProvider: none
          stable: { deployment: shop }
          canary: { image: shop:2 }
          steps: [ { setWeight: 20 } ]
          analysis:
            interval: 1m
            metrics:
              - name: success-rate
                provider: { simulated: {} }
                judge: { threshold: {{threshold}} }
        """;

    [Fact]
    public void Latency_judge_fails_a_canary_whose_tail_is_slower()
    {
        var bounds = new double[] { 50, 100, 200, 500, double.PositiveInfinity };
        var judge = new SequentialLatencyJudge("latency", thresholdMs: 200);
        for (var i = 0; i < 20; i++)
            judge.Observe(new MetricWindow(default, default,
                new VersionSample(1000, 0, new LatencyHistogram(bounds, [400, 800, 950, 990, 1000])),
                new VersionSample(3000, 0, new LatencyHistogram(bounds, [1500, 2700, 2990, 2999, 3000]))));
        var v = judge.Evaluate();
        Assert.Equal(VerdictOutcome.Fail, v.Outcome);
        Assert.Equal(20 * 50, v.CanaryFailures); // requests above 200 ms, counted as the "bad events"
    }
}

public class CanarySamplePlannerTests
{
    [Theory]
    [InlineData(2, 0.01, 60)]
    [InlineData(2, 0.05, 10)]
    [InlineData(20, 0.01, 10)]
    public void Predicted_empty_window_rate_matches_simulated_random_routing(double rps, double weight, int windowSeconds)
    {
        var plan = CanarySamplePlanner.Plan(rps, weight, TimeSpan.FromSeconds(windowSeconds), PlannedRouting.Binomial);
        var rng = new Random(99);
        const int windows = 20000;
        var empty = 0;
        for (var i = 0; i < windows; i++)
        {
            var canary = 0;
            // Per request: Poisson arrivals (exponential gaps), each routed to the canary with probability w.
            for (var t = -Math.Log(1 - rng.NextDouble()) / rps; t < windowSeconds; t += -Math.Log(1 - rng.NextDouble()) / rps)
                if (rng.NextDouble() < weight) canary++;
            if (canary == 0) empty++;
        }
        var p = plan.EmptyWindowProbability;
        var fourSigma = 4 * Math.Sqrt(p * (1 - p) / windows);
        Assert.InRange(empty / (double)windows, p - fourSigma, p + fourSigma);
    }

    [Fact]
    public void Round_robin_never_leaves_a_window_empty_once_a_request_per_window_is_due()
    {
        Assert.Equal(0, CanarySamplePlanner.Plan(20, 0.05, TimeSpan.FromSeconds(10), PlannedRouting.WeightedRoundRobin).EmptyWindowProbability);
    }

    [Fact]
    public void A_plan_that_cannot_reach_a_verdict_warns()
    {
        var plan = CanarySamplePlanner.Plan(2, 0.01, TimeSpan.FromMinutes(1), PlannedRouting.Binomial, rolloutDuration: TimeSpan.FromMinutes(30));
        Assert.Equal(3, plan.Warnings.Count);
        Assert.Contains("insufficient data", plan.Warnings[1]);
        // Issue #29: and 79 one-minute windows are the least a Pass needs at 1%, beyond the 30 minutes.
        Assert.Contains("at least 79 windows", plan.Warnings[2]);
        Assert.Empty(CanarySamplePlanner.Plan(200, 0.25, TimeSpan.FromMinutes(1), PlannedRouting.Binomial, rolloutDuration: TimeSpan.FromMinutes(30)).Warnings);
    }
}
