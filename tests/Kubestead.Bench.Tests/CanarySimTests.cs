using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class RngTests
{
    [Fact]
    public void SplitMix64_matches_the_reference_sequence_for_seed_zero()
    {
        // Reference: Vigna's splitmix64.c with x = 0 (first outputs 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f).
        ulong state = 0;
        Assert.Equal(0xe220a8397b1dcdafUL, Rng.SplitMix64(ref state));
        Assert.Equal(0x6e789e6aa1b965f4UL, Rng.SplitMix64(ref state));
        Assert.Equal(0x06c45d188009454fUL, Rng.SplitMix64(ref state));
    }

    [Fact]
    public void Xoshiro256_star_star_matches_the_reference_algorithm_from_state_1_2_3_4()
    {
        // Reference values from Blackman and Vigna's xoshiro256starstar.c run on s = {1, 2, 3, 4}: 11520, 0, 1509978240.
        var rng = Rng.FromState(1, 2, 3, 4);
        Assert.Equal(11520UL, rng.NextUInt64());
        Assert.Equal(0UL, rng.NextUInt64());
        Assert.Equal(1509978240UL, rng.NextUInt64());
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(4)]
    [InlineData(75)]
    [InlineData(2000)]
    public void Poisson_has_the_right_mean_and_variance(double mean)
    {
        var rng = new Rng(42);
        var xs = Enumerable.Range(0, 20000).Select(_ => (double)rng.Poisson(mean)).ToList();
        var m = xs.Average();
        var v = xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1);
        Assert.InRange(m, mean - 5 * Math.Sqrt(mean / xs.Count), mean + 5 * Math.Sqrt(mean / xs.Count));
        Assert.InRange(v / mean, 0.93, 1.07);
    }

    [Theory]
    [InlineData(30, 0.2)]
    [InlineData(500, 0.001)]
    [InlineData(500, 0.3)]
    [InlineData(10000, 1e-17)]
    public void Binomial_has_the_right_mean(int n, double p)
    {
        var rng = new Rng(5);
        var m = Enumerable.Range(0, 20000).Select(_ => (double)rng.Binomial(n, p)).Average();
        var sd = Math.Sqrt(n * p * (1 - p) / 20000);
        Assert.InRange(m, n * p - 5 * sd - 1e-9, n * p + 5 * sd + 1e-9);
    }
}

public class HarnessTests
{
    private static ScenarioFile Grid(string fault, double multiplier, double rps, double weight, string routing = "binomial") => new()
    {
        Name = "t", Seed = 3, Replicates = 400, TMaxSeconds = 1800, P0 = 0.001, TickSeconds = 10,
        Rps = [rps], Weights = [weight], Routing = [routing],
        Faults = [new FaultSpec { Name = fault, ErrorMultiplier = multiplier }],
    };

    [Fact]
    public void Same_seed_same_csv_whatever_the_parallelism()
    {
        var s = Grid("50x", 50, 20, 0.05);
        var a = Runner.Csv(Runner.Run(s, ["flagger", "kubestead-sequential"], 100));
        var b = Runner.Csv(Runner.Run(s, ["flagger", "kubestead-sequential"], 100));
        Assert.Equal(a, b);
        Assert.StartsWith(Runner.CsvHeader + "\n", a);
        Assert.NotEqual(a, Runner.Csv(Runner.Run(s, ["flagger", "kubestead-sequential"], 100, seed: 4)));
    }

    [Fact]
    public void Weighted_round_robin_is_exact_and_binomial_empty_minutes_match_the_closed_form()
    {
        var wrr = new TrafficModel(new ScenarioFile { TickSeconds = 10 }, new Cell("t", "wrr", 20, 0.05, new FaultSpec()), new Rng(1));
        for (var k = 0; k < 360; k++) wrr.Next(k * 10);
        Assert.InRange((double)wrr.CanaryTotal / wrr.Total, 0.05 - 1.0 / wrr.Total, 0.05 + 1.0 / wrr.Total);

        var r = Runner.Run(Grid("A/A", 1, 2, 0.01), ["argo"], 400).Single();
        Assert.InRange(r.EmptyMinuteShare, Math.Exp(-1.2) - 0.02, Math.Exp(-1.2) + 0.02);
    }

    // The peer policies must reproduce the reference points of CANARY-SIM.md, or they are not faithful.
    [Fact]
    public void Flagger_aborts_about_43_percent_of_good_canaries_at_2_rps_and_1_percent()
    {
        var r = Runner.Run(Grid("A/A", 1, 2, 0.01), ["flagger"], 400).Single();
        Assert.InRange((double)r.Rollbacks / r.Replicates, 0.37, 0.50);
    }

    [Fact]
    public void Flagger_catches_50x_at_200_rps_and_25_percent_after_about_750_failed_requests()
    {
        var r = Runner.Run(Grid("50x", 50, 200, 0.25), ["flagger"], 100).Single();
        Assert.Equal(r.Replicates, r.Rollbacks);
        Assert.InRange(r.BlastMean, 700, 800);
    }

    [Fact]
    public void Flagger_catches_about_87_percent_of_10x_at_200_rps_and_5_percent()
    {
        var r = Runner.Run(Grid("10x", 10, 200, 0.05), ["flagger"], 400).Single();
        Assert.InRange((double)r.Rollbacks / r.Replicates, 0.80, 0.93);
        Assert.InRange(r.BlastMean, 45, 75);
    }

    [Fact]
    public void Flagger_catches_almost_no_5x_canary()
    {
        var r = Runner.Run(Grid("5x", 5, 200, 0.25), ["flagger"], 200).Single();
        Assert.True((double)r.Rollbacks / r.Replicates <= 0.06);
    }

    [Fact]
    public void Kubesteads_judge_never_promotes_a_canary_it_could_not_judge_and_catches_50x_with_few_failures()
    {
        var starved = Runner.Run(Grid("50x", 50, 2, 0.01), ["kubestead-sequential"], 200).Single();
        Assert.Equal(0, starved.Promotions);
        // Since issue #18 the judges bet per window, and one window carries at most a capped amount of evidence (3.85x
        // at 25%): on 10-second windows a 50x canary at 200 rps needs several windows (blast ~100 for the two-metric
        // gate, ~76 for the error judge alone; docs/analysis.md). Evaluated every second, as the goal is stated, the
        // blast stays small.
        var grid = Grid("50x", 50, 200, 0.25);
        grid.TickSeconds = 1;
        var busy = Runner.Run(grid, ["kubestead-sequential"], 100).Single();
        Assert.Equal(busy.Replicates, busy.Rollbacks);
        Assert.True(busy.BlastMean < 15, $"blast {busy.BlastMean}");
    }
}

public class PodRoutingTests
{
    [Fact]
    public void Connection_lifetime_zero_routes_each_request_by_the_pod_share()
    {
        var s = new ScenarioFile { TickSeconds = 10, PodsStable = 9, PodsCanary = 1, Connections = 2, ConnectionLifetimeSeconds = 0 };
        var traffic = new TrafficModel(s, new Cell("t", "pods", 20, 0, new FaultSpec()), new Rng(9));
        var perTick = Enumerable.Range(0, 2000).Select(k => traffic.Next(k * 10)).Select(t => (double)t.Nc).ToList();
        var mean = perTick.Average();
        var variance = perTick.Sum(x => (x - mean) * (x - mean)) / (perTick.Count - 1);
        // Per-request choice: Poisson(200) thinned by 10% is Poisson(20): mean 20, variance 20. With only two sticky
        // connections re-picked each tick, the variance would be several times larger.
        Assert.InRange(mean, 19, 21);
        Assert.InRange(variance / mean, 0.85, 1.15);
    }
}

public class ClusteredEnvironmentTests
{
    private static (double Mean, double VarianceRatio) Failures(EnvironmentSpec env)
    {
        var s = new ScenarioFile { TickSeconds = 60, P0 = 0.01, PodsStable = 9, PodsCanary = 1 };
        var traffic = new TrafficModel(s, new Cell("t", "binomial", 20, 0.1, new FaultSpec(), env), new Rng(42));
        var counts = Enumerable.Range(0, 3000).Select(k => { var t = traffic.Next(k * 60); return (double)(t.Xc + t.Xs); }).ToList();
        var mean = counts.Average();
        var variance = counts.Sum(c => (c - mean) * (c - mean)) / (counts.Count - 1);
        return (mean, variance / mean);
    }

    [Fact]
    public void Bursts_and_rate_variation_keep_the_mean_failure_rate_and_add_overdispersion()
    {
        // 1200 requests a minute at p0 = 1%: 12 failures a minute on average in every environment.
        var iid = Failures(new EnvironmentSpec());
        var bursts = Failures(new EnvironmentSpec { Name = "bursts5", BurstMean = 5 });
        var cv = Failures(new EnvironmentSpec { Name = "cv1.0", RateCv = 1.0 });
        Assert.InRange(iid.Mean, 11.5, 12.5);
        Assert.InRange(bursts.Mean, 11.0, 13.0);
        Assert.InRange(cv.Mean, 11.0, 13.0);
        Assert.InRange(iid.VarianceRatio, 0.85, 1.15);
        Assert.True(bursts.VarianceRatio > 5, $"bursts of mean 5: variance/mean {bursts.VarianceRatio:0.##}");
        Assert.True(cv.VarianceRatio > 1.5, $"rate CV 1: variance/mean {cv.VarianceRatio:0.##}");
    }

    [Fact]
    public void The_default_judge_meets_the_clustered_goals_on_a_small_run()
    {
        // bench/scenarios/clustered.yaml at 200 replicates: A/A false aborts and 5x passes stay near or below 2.5%.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "bench", "scenarios", "clustered.yaml"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var s = ScenarioFile.Load(Path.Combine(dir.FullName, "bench", "scenarios", "clustered.yaml"));
        s.Environments = s.Environments.Where(e => e.Name is "bursts5" or "cv1.0").ToList();
        var results = Runner.Run(s, ["kubestead-sequential-errors"], replicates: 200);
        foreach (var r in results)
        {
            var wrong = r.Cell.Fault.IsBad ? r.Promotions : r.Rollbacks;
            Assert.True(wrong <= 10, $"{r.Cell.FaultLabel}: {wrong} of 200 wrong verdicts");
        }
    }
}
