using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>Issue #32: a load test turns a quiet canary's "insufficient data" into a verdict, in the simulator too.</summary>
public class LoadTestTests
{
    private static ScenarioFile Quiet(double loadTestRps) => new()
    {
        Name = "t", Seed = 32, TMaxSeconds = 1800, P0 = 0.001, TickSeconds = 10, Rps = [2], Weights = [0.05],
        LoadTestRps = loadTestRps, LoadTestControl = true,
        Faults = [new FaultSpec { Name = "A/A" }, new FaultSpec { Name = "50x", ErrorMultiplier = 50 }],
        EngineVariants = [new EngineVariant { Name = "load", IntervalSeconds = 10, LoadTest = true }, new EngineVariant { Name = "users", IntervalSeconds = 10 }],
    };

    [Fact]
    public void A_quiet_canary_gets_a_verdict_from_its_load_test_and_none_from_its_users()
    {
        var results = Runner.Run(Quiet(20), ["load", "users"], replicates: 40);
        CellResult Row(string engine, string fault) => results.Single(r => r.Engine == engine && r.Cell.Fault.Name == fault);
        Assert.True(Row("users", "A/A").Insufficient >= 36, $"users-only decided {Row("users", "A/A").Promotions + Row("users", "A/A").Rollbacks} of 40");
        Assert.True(Row("load", "A/A").Promotions >= 36, $"load test promoted {Row("load", "A/A").Promotions} of 40");
        Assert.True(Row("load", "50x").Rollbacks >= 38, $"load test rolled back {Row("load", "50x").Rollbacks} of 40");
    }

    [Fact]
    public void Without_a_load_test_the_traffic_is_drawn_exactly_as_before()
    {
        var before = new TrafficModel(Quiet(0), Quiet(0).Cells().First(), new Rng(5));
        var ticks = Enumerable.Range(0, 20).Select(i => before.Next(i * 10.0)).ToList();
        Assert.All(ticks, t => Assert.Equal(LoadTestCounts.None, t.LoadTest));
        var withLoad = new TrafficModel(Quiet(20), Quiet(20).Cells().First(), new Rng(5));
        var first = withLoad.Next(0);
        // The users' counts of the first tick come before the load test's draws, so they are the same.
        Assert.Equal((ticks[0].Nc, ticks[0].Xc, ticks[0].Ns, ticks[0].Xs), (first.Nc, first.Xc, first.Ns, first.Xs));
        Assert.True(first.LoadTest.Nc > 100, $"{first.LoadTest.Nc} synthetic canary requests in 10 s at 20/s plus the control's share");
        Assert.True(first.LoadTest.Ns > 100);
    }

    [Fact]
    public void A_variant_judging_a_load_test_the_scenario_does_not_send_is_refused()
    {
        var s = Quiet(0);
        var e = Assert.Throws<ArgumentException>(() => new KubesteadRolloutPolicy(s.EngineVariants[0], s, s.Cells().First()));
        Assert.Contains("loadTestRps", e.Message);
    }
}
