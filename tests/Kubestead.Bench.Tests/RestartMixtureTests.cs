using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class RestartMixtureTests
{
    [Fact]
    public void A_background_test_restarted_every_five_minutes_catches_a_late_fault_sooner_than_one_drained_by_a_long_good_stretch()
    {
        var s = new ScenarioFile { TickSeconds = 10, TMaxSeconds = 3600 };
        var schedule = new WeightSchedule
        {
            Name = "p",
            Steps = [new ScheduleStep { Weight = 0.25 }, new ScheduleStep { Weight = 0.25, PauseSeconds = 3000 }],
        };
        // Failures only on stable for 25 minutes (the Fail test's wealth drains), then ten times worse than stable.
        static Tick Late(double t, double w) => t < 1500 ? SyntheticTicks.Make(t, w, 0, 4) : SyntheticTicks.Bad(t, w);
        var plain = new KubesteadRolloutPolicy(new EngineVariant { Name = "bg", IntervalSeconds = 10 }, s, new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, schedule));
        var restarted = new KubesteadRolloutPolicy(new EngineVariant { Name = "mix", IntervalSeconds = 10, BackgroundRestartSeconds = 300 }, s,
            new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, schedule));
        var (d1, t1) = SyntheticTicks.Drive(plain, 360, 10, Late);
        var (d2, t2) = SyntheticTicks.Drive(restarted, 360, 10, Late);
        // The plain test's wealth is so drained that it may not come back before the pause ends.
        Assert.Equal(Decision.Rollback, d2);
        Assert.True(d1 != Decision.Rollback || t1 > t2, $"restarted: {t2} s, plain: {d1} at {t1} s");
        Assert.InRange(t2, 1510, 1600);
    }
}
