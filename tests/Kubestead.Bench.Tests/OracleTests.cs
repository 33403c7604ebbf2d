using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>Issue #29 item 2: the oracle is valid (its A/A false aborts hold the calibrated rate) and has power.</summary>
public class OracleTests
{
    private static ScenarioFile Small() => new()
    {
        Name = "oracle-check", Seed = 2929, TMaxSeconds = 1800, P0 = 0.01, TickSeconds = 10, Rps = [20], Weights = [0.25],
        PodsStable = 8, PodsCanary = 2,
        Oracle = new OracleSpec { FalseAbortRate = 0.05, CalibrationReplicates = 400 },
        Environments =
        [
            new EnvironmentSpec
            {
                Name = "persistent", RateCv = 0.7, RateStateMinSeconds = 30, RateStateMaxSeconds = 600,
                Scrape = new ScrapeSpec { IntervalSeconds = 15 },
            },
        ],
        Faults = [new FaultSpec { Name = "A/A" }, new FaultSpec { Name = "5x", ErrorMultiplier = 5 }],
    };

    [Fact]
    public void Calibrated_on_other_seeds_the_oracle_aborts_good_canaries_at_no_more_than_its_rate_and_catches_a_5x_canary()
    {
        var s = Small();
        var results = Runner.Run(s, ["oracle"], replicates: 400);
        var aa = results.Single(r => !r.Cell.Fault.IsBad);
        var bad = results.Single(r => r.Cell.Fault.IsBad);
        // Valid: the Wilson interval of the A/A false-abort rate reaches down to the calibrated 5% (not significantly above it).
        var (low, _) = Runner.Wilson(aa.Rollbacks, aa.Replicates);
        Assert.True(low <= 0.05, $"oracle A/A false aborts {aa.Rollbacks}/{aa.Replicates}");
        // Not trivially valid: it aborts some good canaries (the threshold is not infinite) and catches most 5x canaries.
        Assert.True(aa.Rollbacks > 0);
        Assert.True(bad.Rollbacks > 0.8 * bad.Replicates, $"oracle caught {bad.Rollbacks}/{bad.Replicates}");
        Assert.NotNull(bad.OracleThreshold);
    }

    /// <summary>
    /// The uniform oracle (an experiment of issue #29): one threshold for the cells that differ only in how the pods'
    /// rates differ and persist, the largest of theirs, so it is valid in each; cells a drive can tell apart (other pod
    /// counts) keep their own.
    /// </summary>
    [Fact]
    public void The_uniform_oracle_takes_the_largest_threshold_among_environments_a_drive_cannot_tell_apart()
    {
        var s = Small();
        s.Environments =
        [
            new EnvironmentSpec { Name = "alike", PodsStable = 8, PodsCanary = 2, Scrape = new ScrapeSpec { IntervalSeconds = 15 } },
            new EnvironmentSpec
            {
                Name = "cv1", RateCv = 1.0, RateStateMinSeconds = 30, RateStateMaxSeconds = 600, PodsStable = 8, PodsCanary = 2,
                Scrape = new ScrapeSpec { IntervalSeconds = 15 },
            },
            new EnvironmentSpec
            {
                Name = "cv1-1pod", RateCv = 1.0, RateStateMinSeconds = 30, RateStateMaxSeconds = 600, PodsStable = 9, PodsCanary = 1,
                Scrape = new ScrapeSpec { IntervalSeconds = 15 },
            },
        ];
        s.Faults = [new FaultSpec { Name = "A/A" }];
        s.Oracle!.CalibrationReplicates = 200;
        var results = Runner.Run(s, ["oracle", Runner.OracleUniform], replicates: 100);
        double H(string env, string engine) => results.Single(r => r.Cell.Environment!.Name == env && r.Engine == engine).OracleThreshold!.Value;

        Assert.True(H("cv1", "oracle") > H("alike", "oracle"), $"{H("cv1", "oracle")} vs {H("alike", "oracle")}");
        Assert.Equal(H("cv1", "oracle"), H("alike", Runner.OracleUniform));
        Assert.Equal(H("cv1", "oracle"), H("cv1", Runner.OracleUniform));
        Assert.Equal(H("cv1-1pod", "oracle"), H("cv1-1pod", Runner.OracleUniform));
        // The same statistic on the same draws against a higher bar: it aborts a subset of the good canaries the oracle does.
        var alike = results.Where(r => r.Cell.Environment!.Name == "alike").ToDictionary(r => r.Engine);
        Assert.True(alike[Runner.OracleUniform].Rollbacks <= alike["oracle"].Rollbacks);
        Assert.Contains("oracle-uniform (h = ", Report.Markdown(s, results, ["oracle", Runner.OracleUniform], 100, s.Seed, TimeSpan.Zero));
    }

    [Fact]
    public void Every_bad_row_gets_its_blast_over_the_oracles()
    {
        var s = Small();
        s.Faults = [new FaultSpec { Name = "10x", ErrorMultiplier = 10 }];
        s.Oracle!.CalibrationReplicates = 200;
        var results = Runner.Run(s, ["oracle", "flagger"], replicates: 100);
        var flagger = results.Single(r => r.Engine == "flagger");
        var oracle = results.Single(r => r.Engine == "oracle");
        Assert.Equal(flagger.BlastMean / oracle.BlastMean, Runner.RatioToOracle(flagger, results)!.Value, 9);
        var csv = Runner.Csv(results).Split('\n');
        Assert.EndsWith("blast_ratio_to_oracle", csv[0]);
        Assert.Contains("blast / oracle", Report.Markdown(s, results, ["oracle", "flagger"], 100, s.Seed, TimeSpan.Zero));
    }

    [Fact]
    public void Window_evidence_favours_the_fault_when_the_canary_fails_more_and_ignores_a_level_both_sides_share()
    {
        var oracle = new OraclePolicy(5, 60, 10, double.PositiveInfinity, null, null);
        Assert.True(oracle.LogLikelihoodRatio(100, 5, 900, 9) > 0);
        Assert.True(oracle.LogLikelihoodRatio(100, 1, 900, 9) < 0);
        Assert.Equal(0, oracle.LogLikelihoodRatio(0, 0, 900, 9));
        // An outage multiplies both sides' failures: the evidence per failure is unchanged in kind (the share decides).
        Assert.Equal(10 * oracle.LogLikelihoodRatio(100, 1, 900, 9), oracle.LogLikelihoodRatio(100, 10, 900, 90), 9);
    }
}

public class OracleScheduleTests
{
    private static ScenarioFile Held(params ScheduleStep[] steps) => new()
    {
        Seed = 5, TMaxSeconds = 600, P0 = 0.01, TickSeconds = 10, Rps = [20], Weights = [0.01],
        Oracle = new OracleSpec { CalibrationReplicates = 100 },
        Schedules = [new WeightSchedule { Name = "hold", Steps = steps.ToList() }],
        Faults = [new FaultSpec { Name = "10x", ErrorMultiplier = 10 }],
    };

    [Fact]
    public void On_a_schedule_that_holds_one_weight_the_oracle_and_its_calibration_run_at_that_weight()
    {
        var s = Held(new ScheduleStep { Weight = 0.5, PauseSeconds = 600 });
        var r = Runner.Run(s, ["oracle"], replicates: 50).Single();
        Assert.InRange(r.AchievedShare, 0.45, 0.55);
        Assert.True(r.Rollbacks >= 45, $"{r.Rollbacks}/50 caught at 50%");
    }

    [Fact]
    public void A_schedule_that_changes_the_weight_is_refused_naming_it()
    {
        var s = Held(new ScheduleStep { Weight = 0.05 }, new ScheduleStep { Weight = 0.5, PauseSeconds = 600 });
        Assert.Contains("schedule 'hold'", Assert.Throws<ArgumentException>(() => Runner.Run(s, ["oracle"], replicates: 5)).Message);
    }
}
