using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class WarmupTests
{
    private static readonly ScenarioFile Scenario = new() { TickSeconds = 10, TMaxSeconds = 3600 };

    private static KubesteadRolloutPolicy Policy(double warmup, bool afterChanges = false, WeightSchedule? schedule = null) =>
        new(new EngineVariant { Name = "ks", IntervalSeconds = 10, WarmupSeconds = warmup, WarmupAfterWeightChange = afterChanges },
            Scenario, new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, schedule));

    [Fact]
    public void Windows_inside_the_warm_up_are_not_judged_so_a_warm_up_fault_does_not_abort()
    {
        // The canary fails ten times as often for its first 120 s, then is exactly as good as stable.
        static Tick Warming(double t, double w) => t < 120 ? SyntheticTicks.Bad(t, w) : SyntheticTicks.Good(t, w);

        var without = Policy(0);
        Assert.Equal(Decision.Rollback, SyntheticTicks.Drive(without, 360, 10, Warming).Decision);

        var with = Policy(120);
        var (decision, _) = SyntheticTicks.Drive(with, 360, 10, Warming);
        Assert.Equal(Decision.Promote, decision);
        Assert.Equal(12, with.SkippedWindows);
    }

    [Fact]
    public void A_warm_up_that_does_not_divide_by_the_interval_is_cut_where_it_ends()
    {
        // 25 s of warm-up with 10-second ticks and windows: ticks at 0, 10, 20 are skipped (three windows, the last
        // ending where the warm-up does, as the engine cuts it); the tick at 30 is the first judged.
        var policy = Policy(25);
        for (var k = 0; k < 4; k++) policy.OnTick(SyntheticTicks.Good(k * 10));
        Assert.Equal(3, policy.SkippedWindows);
        Assert.Equal(1, policy.CountedWindows);
    }

    [Fact]
    public void Warm_up_after_weight_changes_skips_windows_after_every_step()
    {
        var schedule = new WeightSchedule { Name = "steps", Steps = [new ScheduleStep { Weight = 0.1 }, new ScheduleStep { Weight = 0.5 }] };
        var once = Policy(30, schedule: schedule);
        var every = Policy(30, afterChanges: true, schedule: schedule);
        Assert.Equal(Decision.Promote, SyntheticTicks.Drive(once, 360, 10, (t, w) => SyntheticTicks.Good(t, w)).Decision);
        Assert.Equal(Decision.Promote, SyntheticTicks.Drive(every, 360, 10, (t, w) => SyntheticTicks.Good(t, w)).Decision);
        Assert.Equal(3, once.SkippedWindows);
        Assert.Equal(6, every.SkippedWindows);
    }

    [Fact]
    public void An_initial_delay_skips_windows_at_the_start_of_each_analysis_step()
    {
        var schedule = new WeightSchedule { Name = "steps", Steps = [new ScheduleStep { Weight = 0.1 }, new ScheduleStep { Weight = 0.5 }] };
        var policy = new KubesteadRolloutPolicy(new EngineVariant { Name = "ks", IntervalSeconds = 10, InitialDelaySeconds = 20 },
            Scenario, new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, schedule));
        Assert.Equal(Decision.Promote, SyntheticTicks.Drive(policy, 360, 10, (t, w) => SyntheticTicks.Good(t, w)).Decision);
        Assert.Equal(4, policy.SkippedWindows);
    }
}
