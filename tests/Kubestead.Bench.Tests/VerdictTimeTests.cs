using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class VerdictTimeTests
{
    [Fact]
    public void Rollback_and_promotion_times_are_reported_separately()
    {
        // Argo on a static 5% canary five times worse than p0 = 1%: its 5-minute measurements sometimes fail 4 times
        // (rollback at 20, 25 or 30 minutes: the fourth failure comes before the sixth measurement's promotion) and
        // otherwise it promotes after the sixth, at 30 minutes.
        var s = new ScenarioFile
        {
            Name = "t", Seed = 2, TMaxSeconds = 1800, P0 = 0.01, TickSeconds = 10, Rps = [20], Weights = [0.05],
            Faults = [new FaultSpec { Name = "5x", ErrorMultiplier = 5 }],
        };
        var r = Runner.Run(s, ["argo"], replicates: 300).Single();
        Assert.True(r.Rollbacks > 10 && r.Promotions > 10, $"{r.Rollbacks} rollbacks, {r.Promotions} promotions");
        Assert.Equal(1800, r.PromotionTimeMedian);
        Assert.Equal(1800, r.PromotionTimeP90);
        Assert.Contains(r.RollbackTimeMedian, new double?[] { 1200, 1500, 1800 });
        Assert.Contains(r.RollbackTimeP90, new double?[] { 1200, 1500, 1800 });
        var csv = Runner.Csv([r]).Split('\n');
        var header = csv[0].Split(',');
        var row = csv[1].Split(',');
        Assert.Equal("1800", row[Array.IndexOf(header, "promotion_time_median_s")]);
    }

    [Fact]
    public void Blast_after_onset_counts_only_failures_from_the_onset_on()
    {
        var s = new ScenarioFile
        {
            Name = "t", Seed = 4, TMaxSeconds = 1800, P0 = 0.001, TickSeconds = 10, Rps = [200], Weights = [0.25],
            Faults = [new FaultSpec { Name = "50x at 5 min", ErrorMultiplier = 50, OnsetSeconds = 300 }],
        };
        var r = Runner.Run(s, ["flagger"], replicates: 50).Single();
        // Before the onset the canary fails at p0 (50 canary requests a second at 0.1%): about 15 failures in 5 minutes (Flagger promotes after 10 minutes of passing checks).
        Assert.True(r.Rollbacks >= 45, $"{r.Rollbacks} of 50 caught");
        Assert.InRange(r.BlastMean - r.BlastAfterOnsetMean, 8, 25);
        Assert.Equal(r.Rollbacks, r.ExposedRollbacks);
    }
}
