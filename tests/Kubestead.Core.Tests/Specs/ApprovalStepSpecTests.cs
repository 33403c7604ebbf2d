using Kubestead.Analysis;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

/// <summary>The <c>approval</c> step (issue #32 item 2): its fields, and what the state machine does at it.</summary>
public class ApprovalStepSpecTests
{
    private static SpecParseResult Parse(string approval) => RolloutSpecParser.Parse(
        RolloutSpecDefaults.ForImage("shop", "web", "shop", MeshProviders.Istio, "registry.example.com/shop:2")
            .Replace("  steps:\n", $"  steps:\n    - approval: {approval}\n"));

    [Fact]
    public void Approval_steps_parse_with_and_without_a_timeout()
    {
        Assert.Equal(new ApprovalStepSpec(null, false), Parse("{}").Spec!.Steps[0]);
        Assert.Equal(new ApprovalStepSpec(TimeSpan.FromHours(1), true), Parse("{timeout: 1h, onTimeout: abort}").Spec!.Steps[0]);
        Assert.Equal(new ApprovalStepSpec(TimeSpan.FromMinutes(5), false), Parse("{timeout: 5m}").Spec!.Steps[0]);
    }

    [Theory]
    [InlineData("{onTimeout: abort}", "spec.steps[0].approval.onTimeout", "applies only with a timeout")]
    [InlineData("{timeout: 5m, onTimeout: fail}", "spec.steps[0].approval.onTimeout", "'fail' is not one of pause, abort")]
    [InlineData("{timeot: 5m}", "spec.steps[0].approval.timeot", "did you mean 'timeout'?")]
    public void Bad_approval_fields_are_named(string approval, string field, string message) =>
        Assert.Contains(Parse(approval).Problems, p => p.Field == field && p.Message.Contains(message));

    [Fact]
    public void The_decider_starts_the_gate_clock_then_pauses_then_passes_once_approved_and_acts_on_the_timeout()
    {
        var plan = new RolloutPlan("r", "ns", [new ApprovalPlanStep(TimeSpan.FromMinutes(10), AbortOnTimeout: true)], null, new RolloutPolicies());
        var t0 = DateTimeOffset.UnixEpoch;
        var fresh = new RolloutStatus();
        Assert.IsType<StartStepTimerAction>(RolloutDecider.Decide(plan, fresh, t0, GateOutcome.NotConfigured));
        var started = fresh with { StepStartedAt = t0 };
        var pause = Assert.IsType<PauseAction>(RolloutDecider.Decide(plan, started, t0.AddMinutes(1), GateOutcome.NotConfigured));
        Assert.Equal(PauseReason.Manual, pause.Reason);
        Assert.IsType<AdvanceStepAction>(RolloutDecider.Decide(plan, started with { ApprovedStep = 0 }, t0.AddMinutes(20), GateOutcome.NotConfigured));
        var abort = Assert.IsType<AbortAction>(RolloutDecider.Decide(plan, started, t0.AddMinutes(10), GateOutcome.NotConfigured));
        Assert.Equal("no approval within 10m", abort.Message);
    }
}
