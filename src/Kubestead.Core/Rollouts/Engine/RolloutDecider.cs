using Kubestead.Analysis;
using Kubestead.Rollouts.State;

namespace Kubestead.Rollouts.Engine;

/// <summary>What the executor must do next. The decider is pure; the executor performs these and records the result.</summary>
public abstract record EngineAction;

/// <summary>Nothing to do now: the rollout is terminal or paused; the driver returns.</summary>
public sealed record StopAction(string Why) : EngineAction;

public sealed record ApplyWeightAction(double Weight) : EngineAction;

/// <summary>Records when the current step began (before waiting on it), so a crash does not restart the clock.</summary>
public sealed record StartStepTimerAction : EngineAction;

/// <summary>Waits (analysing in the background) until <see cref="Until"/>, or for one analysis window when null.</summary>
public sealed record WaitAction(DateTimeOffset? Until, string Activity) : EngineAction;

public sealed record AdvanceStepAction(string Why) : EngineAction;

public sealed record PauseAction(PauseReason Reason, string Message) : EngineAction;

/// <summary>Roll back: all traffic to stable, then clean up. Phase Aborted (or Failed when <see cref="AsFailure"/>).</summary>
public sealed record AbortAction(string Message, bool AsFailure = false) : EngineAction;

/// <summary>Finish an abort whose clean-up did not complete (the driver crashed after routing traffic to stable).</summary>
public sealed record FinishAbortAction : EngineAction;

public sealed record BeginPromotionAction(string Why) : EngineAction;

public sealed record PromoteAction : EngineAction;

public sealed record SetHeaderRouteAction(HeaderRouteRequest Route) : EngineAction;

public sealed record RemoveHeaderRouteAction(string RouteName) : EngineAction;

/// <summary>The rollout state machine: given the plan, the recorded status, the time and the analysis gate, the next action.</summary>
public static class RolloutDecider
{
    public static EngineAction Decide(RolloutPlan plan, RolloutStatus status, DateTimeOffset now, GateOutcome gate)
    {
        switch (status.Phase)
        {
            case RolloutPhase.Completed:
            case RolloutPhase.Failed when status.CleanupDone:
                return new StopAction($"rollout is {status.Phase}");
            case RolloutPhase.Aborted:
            case RolloutPhase.Failed:
                return status.CleanupDone ? new StopAction($"rollout is {status.Phase}") : new FinishAbortAction();
            case RolloutPhase.Paused:
                return new StopAction($"rollout is paused ({status.PauseReason}): {status.Message}");
            case RolloutPhase.Promoting:
                return new PromoteAction();
        }

        if (gate == GateOutcome.Fail)
            return new AbortAction(status.BackgroundVerdicts.FirstOrDefault(v => v.Outcome == Analysis.VerdictOutcome.Fail) is { } bg
                ? $"background analysis failed ({bg.Metric}): the canary is worse than its control"
                : "analysis failed: the canary is worse than its control");

        if (status.StepIndex >= plan.Steps.Count)
            return DecidePromotionGate(plan, status, now, gate);

        var step = plan.Steps[status.StepIndex];
        switch (step)
        {
            case SetWeightPlanStep w:
                return new ApplyWeightAction(w.Weight);
            case SetHeaderRoutePlanStep h:
                return new SetHeaderRouteAction(h.Route);
            case RemoveHeaderRoutePlanStep r:
                return new RemoveHeaderRouteAction(r.RouteName);
            case PausePlanStep { Duration: null }:
                return new PauseAction(PauseReason.Manual, $"step {status.StepIndex + 1}: paused until resumed");
            case PausePlanStep { Duration: { } d }:
                if (status.StepStartedAt is not { } pauseStart) return new StartStepTimerAction();
                return now >= pauseStart + d
                    ? new AdvanceStepAction($"pause of {Durations.Format(d)} ended")
                    : new WaitAction(pauseStart + d, $"step {status.StepIndex + 1}: {step.Describe()}");
            case AnalysisPlanStep a:
                return DecideAnalysisStep(plan, status, now, gate, a);
            case ApprovalPlanStep g:
                return DecideApproval(status, now, g);
            default:
                throw new InvalidOperationException($"unknown step {step.GetType().Name}");
        }
    }

    private static EngineAction DecideAnalysisStep(RolloutPlan plan, RolloutStatus status, DateTimeOffset now, GateOutcome gate, AnalysisPlanStep a)
    {
        if (status.StepStartedAt is not { } start) return new StartStepTimerAction();
        var activity = $"step {status.StepIndex + 1}: {a.Describe()}";
        var elapsed = a.Duration is { } d && now >= start + d;
        // A Pass must rest on traffic this step saw (e.g. at its higher weight): a verdict from a window that began before
        // the step counts as no verdict yet, or a later step would pass at once on an earlier step's evidence.
        if (gate == GateOutcome.Pass && !HasWindowWithin(plan, status, start)) gate = GateOutcome.InsufficientData;
        if (gate is GateOutcome.Pass or GateOutcome.NotConfigured && (a.UntilVerdict || elapsed || a.Duration is null))
            return gate == GateOutcome.NotConfigured && a.Duration is { } dd && !elapsed
                ? new WaitAction(start + dd, activity)
                : new AdvanceStepAction(gate == GateOutcome.Pass ? "analysis passed" : "no analysis configured");
        if (!elapsed) return new WaitAction(a.Duration is { } until ? start + until : null, activity);
        return Inconclusive(plan, gate, $"step {status.StepIndex + 1}: analysis ended without a verdict");
    }

    /// <summary>
    /// An approval gate: its clock starts first (so a timeout survives a crash), then the rollout pauses for a person. A
    /// driver that finds the gate approved goes on; one that finds the timeout passed aborts or pauses for good.
    /// </summary>
    private static EngineAction DecideApproval(RolloutStatus status, DateTimeOffset now, ApprovalPlanStep g)
    {
        var n = status.StepIndex + 1;
        if (status.ApprovedStep == status.StepIndex) return new AdvanceStepAction("approved");
        if (status.StepStartedAt is not { } since) return new StartStepTimerAction();
        if (ApprovalTimedOut(g, since, now) is { } late)
            return g.AbortOnTimeout ? new AbortAction(late) : new PauseAction(PauseReason.Manual, late + ": paused; approve to go on, or abort");
        return new PauseAction(PauseReason.Manual, $"step {n}: waiting for approval (kubestead approve / Approve-KubesteadRollout)" +
                                                   (g.Timeout is { } t ? $" until {since + t:u}" : ""));
    }

    /// <summary>Why an approval gate has timed out, or null while it has not (or has no timeout).</summary>
    public static string? ApprovalTimedOut(ApprovalPlanStep g, DateTimeOffset since, DateTimeOffset now) =>
        g.Timeout is { } t && now >= since + t ? $"no approval within {Durations.Format(t)}" : null;

    // Judges reset at the step's start have only seen this step's windows; otherwise the last window must lie within the step.
    private static bool HasWindowWithin(RolloutPlan plan, RolloutStatus status, DateTimeOffset stepStart) =>
        plan.Analysis is not { } analysis
        || status.StepEvidenceSince is { } since && since >= stepStart && status.LastVerdicts.Count > 0
        || status.AnalysisCursor is { } cursor && cursor - analysis.Interval >= stepStart;

    private static EngineAction DecidePromotionGate(RolloutPlan plan, RolloutStatus status, DateTimeOffset now, GateOutcome gate)
    {
        if (gate is GateOutcome.Pass or GateOutcome.NotConfigured)
            return new BeginPromotionAction(gate == GateOutcome.Pass ? "every step done and the analysis passed" : "every step done");
        // Give the analysis one more window after the last step before calling it inconclusive.
        if (status.StepStartedAt is not { } start) return new StartStepTimerAction();
        var window = plan.Analysis?.Interval ?? TimeSpan.Zero;
        if (now < start + window) return new WaitAction(start + window, "final analysis before promotion");
        return Inconclusive(plan, gate, "every step done but the analysis has no passing verdict");
    }

    private static EngineAction Inconclusive(RolloutPlan plan, GateOutcome gate, string context)
    {
        if (gate == GateOutcome.Error)
            return plan.Policies.OnMetricErrors == InconclusivePolicy.Fail
                ? new AbortAction($"{context}: metrics unavailable", AsFailure: true)
                : new PauseAction(PauseReason.MetricErrors, $"{context}: metrics unavailable");
        return plan.Policies.OnInsufficientData == InconclusivePolicy.Fail
            ? new AbortAction($"{context}: insufficient data", AsFailure: true)
            : new PauseAction(PauseReason.InsufficientData, $"{context}: the canary saw too few requests to judge");
    }
}
