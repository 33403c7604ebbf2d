using Kubestead.Analysis;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;


namespace Kubestead.Core.Tests.Rollouts;

public class RolloutDeciderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static RolloutPlan Plan(params PlanStep[] steps) => new(
        "shop", "web", steps, new AnalysisPlan(TimeSpan.FromMinutes(1), 0, 3, 0), new RolloutPolicies());

    [Fact]
    public void Set_weight_step_applies_its_weight()
    {
        var action = RolloutDecider.Decide(Plan(new SetWeightPlanStep(10)), new RolloutStatus(), T0, GateOutcome.InsufficientData);
        Assert.Equal(new ApplyWeightAction(10), action);
    }

    [Fact]
    public void Timed_pause_starts_its_timer_then_waits_then_advances_even_after_a_restart()
    {
        var plan = Plan(new PausePlanStep(TimeSpan.FromMinutes(5)));
        Assert.IsType<StartStepTimerAction>(RolloutDecider.Decide(plan, new RolloutStatus(), T0, GateOutcome.Pass));

        var started = new RolloutStatus { StepStartedAt = T0 };
        var wait = Assert.IsType<WaitAction>(RolloutDecider.Decide(plan, started, T0.AddMinutes(2), GateOutcome.Pass));
        Assert.Equal(T0.AddMinutes(5), wait.Until);

        // A new process reads the same status later: the pause ends at the original time, not 5 minutes after the restart.
        Assert.IsType<AdvanceStepAction>(RolloutDecider.Decide(plan, started, T0.AddMinutes(5), GateOutcome.Pass));
    }

    [Fact]
    public void Pause_without_duration_pauses_for_a_person()
    {
        var action = RolloutDecider.Decide(Plan(new PausePlanStep(null)), new RolloutStatus(), T0, GateOutcome.Pass);
        Assert.Equal(PauseReason.Manual, Assert.IsType<PauseAction>(action).Reason);
    }

    [Fact]
    public void Failing_analysis_aborts_from_any_progressing_step()
    {
        var plan = Plan(new SetWeightPlanStep(5), new PausePlanStep(TimeSpan.FromMinutes(5)));
        var action = RolloutDecider.Decide(plan, new RolloutStatus { StepIndex = 1, StepStartedAt = T0 }, T0, GateOutcome.Fail);
        Assert.False(Assert.IsType<AbortAction>(action).AsFailure);
    }

    [Theory]
    [InlineData(GateOutcome.InsufficientData, PauseReason.InsufficientData)]
    [InlineData(GateOutcome.Error, PauseReason.MetricErrors)]
    public void Timed_analysis_without_a_pass_pauses_with_the_reason(GateOutcome gate, PauseReason reason)
    {
        var plan = Plan(new AnalysisPlanStep(TimeSpan.FromMinutes(10), UntilVerdict: false)) with
        {
            Policies = new RolloutPolicies(OnMetricErrors: InconclusivePolicy.Pause),
        };
        var status = new RolloutStatus { StepStartedAt = T0 };
        Assert.IsType<WaitAction>(RolloutDecider.Decide(plan, status, T0.AddMinutes(9), gate));
        Assert.Equal(reason, Assert.IsType<PauseAction>(RolloutDecider.Decide(plan, status, T0.AddMinutes(10), gate)).Reason);
    }

    [Fact]
    public void By_default_an_analysis_step_ending_on_metric_errors_aborts_rather_than_pauses()
    {
        var plan = Plan(new AnalysisPlanStep(TimeSpan.FromMinutes(10), UntilVerdict: false));
        var action = RolloutDecider.Decide(plan, new RolloutStatus { StepStartedAt = T0 }, T0.AddMinutes(10), GateOutcome.Error);
        Assert.True(Assert.IsType<AbortAction>(action).AsFailure);
    }

    [Fact]
    public void Insufficient_data_fails_the_rollout_when_the_policy_says_so()
    {
        var plan = Plan(new AnalysisPlanStep(TimeSpan.FromMinutes(10), false)) with
        {
            Policies = new RolloutPolicies(OnInsufficientData: InconclusivePolicy.Fail),
        };
        var action = RolloutDecider.Decide(plan, new RolloutStatus { StepStartedAt = T0 }, T0.AddMinutes(10), GateOutcome.InsufficientData);
        Assert.True(Assert.IsType<AbortAction>(action).AsFailure);
    }

    [Fact]
    public void Analysis_until_verdict_advances_as_soon_as_it_passes()
    {
        var plan = Plan(new AnalysisPlanStep(TimeSpan.FromMinutes(30), UntilVerdict: true));
        var status = new RolloutStatus { StepStartedAt = T0, AnalysisCursor = T0.AddMinutes(1) };
        Assert.IsType<WaitAction>(RolloutDecider.Decide(plan, status, T0.AddMinutes(1), GateOutcome.InsufficientData));
        Assert.IsType<AdvanceStepAction>(RolloutDecider.Decide(plan, status, T0.AddMinutes(1), GateOutcome.Pass));
    }

    [Fact]
    public void A_pass_from_a_window_that_began_before_the_analysis_step_does_not_end_the_step()
    {
        var plan = Plan(new SetWeightPlanStep(10), new AnalysisPlanStep(null, UntilVerdict: true), new SetWeightPlanStep(50),
            new AnalysisPlanStep(null, UntilVerdict: true));
        // The 50% analysis step starts at T0; the last window (T0-30s .. T0+30s) mostly saw the 10% step's traffic.
        var status = new RolloutStatus { StepIndex = 3, StepStartedAt = T0, AnalysisCursor = T0.AddSeconds(30) };
        Assert.IsType<WaitAction>(RolloutDecider.Decide(plan, status, T0.AddSeconds(30), GateOutcome.Pass));
        // Once a window wholly inside the step passes, the step ends.
        var later = status with { AnalysisCursor = T0.AddSeconds(90) };
        Assert.IsType<AdvanceStepAction>(RolloutDecider.Decide(plan, later, T0.AddSeconds(90), GateOutcome.Pass));
        // A failure needs no such wait: it aborts at once.
        Assert.IsType<AbortAction>(RolloutDecider.Decide(plan, status, T0.AddSeconds(30), GateOutcome.Fail));
    }

    [Fact]
    public void A_canary_never_judged_is_not_promoted_after_the_last_step()
    {
        var plan = Plan(new SetWeightPlanStep(50));
        var done = new RolloutStatus { StepIndex = 1 };
        Assert.IsType<StartStepTimerAction>(RolloutDecider.Decide(plan, done, T0, GateOutcome.InsufficientData));
        var timed = done with { StepStartedAt = T0 };
        Assert.IsType<WaitAction>(RolloutDecider.Decide(plan, timed, T0.AddSeconds(30), GateOutcome.InsufficientData));
        var paused = Assert.IsType<PauseAction>(RolloutDecider.Decide(plan, timed, T0.AddMinutes(1), GateOutcome.InsufficientData));
        Assert.Equal(PauseReason.InsufficientData, paused.Reason);
        Assert.IsType<BeginPromotionAction>(RolloutDecider.Decide(plan, timed, T0.AddMinutes(1), GateOutcome.Pass));
    }

    [Fact]
    public void Without_analysis_the_rollout_promotes_after_the_last_step()
    {
        var plan = Plan(new SetWeightPlanStep(50)) with { Analysis = null };
        Assert.IsType<BeginPromotionAction>(RolloutDecider.Decide(plan, new RolloutStatus { StepIndex = 1 }, T0, GateOutcome.NotConfigured));
    }

    [Theory]
    [InlineData(RolloutPhase.Completed, true, typeof(StopAction))]
    [InlineData(RolloutPhase.Aborted, true, typeof(StopAction))]
    [InlineData(RolloutPhase.Aborted, false, typeof(FinishAbortAction))]
    [InlineData(RolloutPhase.Failed, false, typeof(FinishAbortAction))]
    [InlineData(RolloutPhase.Paused, false, typeof(StopAction))]
    [InlineData(RolloutPhase.Promoting, false, typeof(PromoteAction))]
    public void Phases_other_than_progressing_decide_by_phase(RolloutPhase phase, bool cleanupDone, Type expected)
    {
        var status = new RolloutStatus { Phase = phase, CleanupDone = cleanupDone, PauseReason = PauseReason.Manual };
        Assert.IsType(expected, RolloutDecider.Decide(Plan(new SetWeightPlanStep(5)), status, T0, GateOutcome.Fail));
    }

    [Fact]
    public void Header_route_steps_map_to_their_actions()
    {
        var plan = Plan(new SetHeaderRoutePlanStep(new HeaderRouteRequest("testers")), new RemoveHeaderRoutePlanStep("testers"));
        Assert.IsType<SetHeaderRouteAction>(RolloutDecider.Decide(plan, new RolloutStatus(), T0, GateOutcome.Pass));
        Assert.Equal("testers", Assert.IsType<RemoveHeaderRouteAction>(
            RolloutDecider.Decide(plan, new RolloutStatus { StepIndex = 1 }, T0, GateOutcome.Pass)).RouteName);
    }
}
