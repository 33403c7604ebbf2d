using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class ScheduleTests
{
    private static readonly ScenarioFile Scenario = new() { TickSeconds = 10, TMaxSeconds = 3600 };

    private static WeightSchedule Steps(params double[] weights) =>
        new() { Name = "steps", Steps = weights.Select(w => new ScheduleStep { Weight = w }).ToList() };

    [Fact]
    public void Kubestead_advances_one_step_per_pass_and_promotes_after_the_last()
    {
        var policy = new KubesteadRolloutPolicy(new EngineVariant { Name = "ks", IntervalSeconds = 10 }, Scenario,
            new Cell("t", "binomial", 20, 0.01, new FaultSpec(), null, Steps(0.01, 0.05, 0.1, 0.25, 0.5)));
        var seen = new List<double>();
        Decision? decision = null;
        for (var k = 0; k < 360 && decision is null; k++)
        {
            var w = policy.Weight!.Value;
            if (seen.Count == 0 || seen[^1] != w) seen.Add(w);
            decision = policy.OnTick(SyntheticTicks.Good(k * 10, w));
        }
        Assert.Equal(Decision.Promote, decision);
        Assert.Equal([0.01, 0.05, 0.1, 0.25, 0.5], seen);
    }

    [Fact]
    public void A_pause_step_lasts_its_duration_and_a_step_judge_starts_fresh()
    {
        var schedule = new WeightSchedule
        {
            Name = "p",
            Steps = [new ScheduleStep { Weight = 0.1, PauseSeconds = 60 }, new ScheduleStep { Weight = 0.5 }],
        };
        var policy = new KubesteadRolloutPolicy(new EngineVariant { Name = "ks", IntervalSeconds = 10, Background = false }, Scenario,
            new Cell("t", "binomial", 20, 0.1, new FaultSpec(), null, schedule));
        // Bad traffic during the pause is judged by nobody without a background e-process.
        for (var k = 0; k < 6; k++) Assert.Null(policy.OnTick(SyntheticTicks.Bad(k * 10, policy.Weight!.Value)));
        Assert.Equal(1, policy.Step);
        Assert.Equal(0.5, policy.Weight);
    }

    [Fact]
    public void Flagger_moves_to_the_next_step_weight_on_each_passing_check()
    {
        var flagger = new FlaggerStepPolicy([0.05, 0.25, 0.5], 10);
        var weights = new List<double>();
        Decision? decision = null;
        for (var k = 0; k < 100 && decision is null; k++)
        {
            weights.Add(flagger.Weight!.Value);
            decision = flagger.OnTick(SyntheticTicks.Make(k * 10, flagger.Weight!.Value, 0, 3));
        }
        Assert.Equal(Decision.Promote, decision);
        // One check a minute: 6 ticks per weight, promotion at the passing check at the last weight.
        Assert.Equal(18, weights.Count);
        Assert.Equal(Enumerable.Repeat(0.05, 6).Concat(Enumerable.Repeat(0.25, 6)).Concat(Enumerable.Repeat(0.5, 6)), weights);
    }

    [Fact]
    public void Argo_promotes_after_its_steps_pauses_whatever_the_metrics_say_unless_the_background_analysis_fails()
    {
        List<ScheduleStep> steps = [new() { Weight = 0.05 }, new() { Weight = 0.25, PauseSeconds = 600 }];
        var argo = new ArgoStepPolicy(steps, 10);
        var (decision, time) = SyntheticTicks.Drive(argo, 1000, 10, (t, w) => SyntheticTicks.Good(t, w));
        Assert.Equal(Decision.Promote, decision);
        Assert.Equal(900, time);
    }

    [Fact]
    public void Engine_driven_cells_give_each_engine_its_own_weight_and_traffic()
    {
        var s = new ScenarioFile
        {
            Name = "t", Seed = 5, TMaxSeconds = 3600, P0 = 0.01, TickSeconds = 10, Rps = [20], Weights = [0.05, 0.25],
            Schedules = [Steps(0.05, 0.5)],
            Faults = [new FaultSpec()],
            EngineVariants = [new EngineVariant { Name = "ks", IntervalSeconds = 60 }],
        };
        // One cell per schedule, not per weight.
        Assert.Single(s.Cells());
        var results = Runner.Run(s, ["flagger", "argo", "ks"], replicates: 40);
        var argo = results.Single(r => r.Engine == "argo");
        // Argo: two 5-minute analysis pauses, then promotion (a good canary fails no 95% success-rate measurement).
        Assert.Equal(40, argo.Promotions);
        Assert.Equal(600, argo.PromotionTimeMedian);
        Assert.True(results.Single(r => r.Engine == "flagger").AchievedShare > 0.05, "the achieved share follows the schedule");
    }
}
