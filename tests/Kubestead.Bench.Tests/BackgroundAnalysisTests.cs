using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class BackgroundAnalysisTests
{
    private static readonly ScenarioFile Scenario = new() { TickSeconds = 10, TMaxSeconds = 3600 };

    // 25% until the analysis passes, then 20 minutes at 50% with no analysis step.
    private static readonly WeightSchedule PassThenPause = new()
    {
        Name = "pass-then-pause",
        Steps = [new ScheduleStep { Weight = 0.25 }, new ScheduleStep { Weight = 0.5, PauseSeconds = 1200 }],
    };

    private static KubesteadRolloutPolicy Policy(bool background) =>
        new(new EngineVariant { Name = "ks", IntervalSeconds = 10, Background = background }, Scenario,
            new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, PassThenPause));

    [Fact]
    public void The_background_e_process_aborts_a_fault_that_starts_after_the_step_passed()
    {
        // Good for 5 minutes (the analysis step passes well before), then ten times worse.
        static Tick Onset(double t, double w) => t < 300 ? SyntheticTicks.Good(t, w) : SyntheticTicks.Bad(t, w);

        var background = Policy(true);
        var (decision, time) = SyntheticTicks.Drive(background, 360, 10, Onset);
        Assert.Equal(Decision.Rollback, decision);
        Assert.InRange(time, 310, 400);

        var stepOnly = Policy(false);
        var (missed, promotedAt) = SyntheticTicks.Drive(stepOnly, 360, 10, Onset);
        Assert.Equal(Decision.Promote, missed);
        Assert.True(promotedAt > 1200, $"promoted at {promotedAt} s, after the pause");
    }

    [Fact]
    public void With_a_background_e_process_a_step_judges_fail_does_not_abort_on_its_own()
    {
        // The engine's rule: aborting is the background's call. Both see the same windows here, so both fail together;
        // with StepFailAborts the step judge may abort too.
        var policy = Policy(true);
        Assert.Equal(Decision.Rollback, SyntheticTicks.Drive(policy, 360, 10, (t, w) => SyntheticTicks.Bad(t, w)).Decision);
        Assert.Equal(0, policy.Step);
    }

    [Fact]
    public void Seeded_simulation_background_catches_late_faults_that_step_only_analysis_promotes()
    {
        var s = new ScenarioFile
        {
            Name = "t", Seed = 11, TMaxSeconds = 3600, P0 = 0.01, TickSeconds = 1, Rps = [20], Weights = [0.05],
            Schedules = [new WeightSchedule { Name = "p", Steps = [new ScheduleStep { Weight = 0.05 }, new ScheduleStep { Weight = 0.25, PauseSeconds = 900 }] }],
            Faults = [new FaultSpec { Name = "10x at 10 min", ErrorMultiplier = 10, OnsetSeconds = 600 }],
            EngineVariants = [new EngineVariant { Name = "bg", IntervalSeconds = 1, Limit = true }, new EngineVariant { Name = "step", IntervalSeconds = 1, Limit = true, Background = false }],
        };
        var results = Runner.Run(s, ["bg", "step"], replicates: 60);
        var bg = results.Single(r => r.Engine == "bg");
        var step = results.Single(r => r.Engine == "step");
        Assert.True(bg.ExposedRollbacks >= 0.9 * bg.Exposed, $"background caught {bg.ExposedRollbacks} of {bg.Exposed}");
        Assert.True(step.ExposedRollbacks <= 0.3 * step.Exposed, $"step-only caught {step.ExposedRollbacks} of {step.Exposed}");
        Assert.True(bg.Exposed >= 40, $"{bg.Exposed} replicates still running at the onset");
    }
}
