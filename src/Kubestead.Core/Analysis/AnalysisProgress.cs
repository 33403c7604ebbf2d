using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;


namespace Kubestead.Analysis;

/// <summary>
/// How far an analysis that runs until a verdict has got: the canary requests its sequential judges have seen, against
/// the requests the sample planner expects a Pass to need at the current weight. A progress bar fills with it; the
/// estimate is the planner's (at the control's observed error rate once it has seen a few failures), not a promise.
/// </summary>
public static class AnalysisProgress
{
    /// <summary>Below this many control failures the observed rate is too noisy to plan with; the planner's default is used.</summary>
    private const long FailuresToTrustObservedRate = 20;

    /// <summary>The request rate assumed before any window has been counted.</summary>
    private const double NominalRequestsPerSecond = 10;

    public static (long Seen, long Needed)? For(RolloutRuntime rt, RolloutStatus status)
    {
        if (rt.Analysis is not { } analysis || status.StepIndex >= rt.Plan.Steps.Count) return null;
        if (rt.Plan.Steps[status.StepIndex] is not AnalysisPlanStep { UntilVerdict: true }) return null;
        (long Seen, long Needed)? slowest = null;
        foreach (var m in analysis.Metrics)
        {
            if (m.Spec is not { Kind: "sequential" } judge) continue;
            var last = status.LastVerdicts.FirstOrDefault(v => v.Metric == m.Metric);
            var seen = last?.CanaryRequests ?? 0;
            var controlRate = last is { ControlFailures: >= FailuresToTrustObservedRate, ControlRequests: > 0 }
                ? (double)last.ControlFailures / last.ControlRequests
                : 0.001;
            // The per-window judge's needs depend on the traffic a window holds: estimate the request rate from what the
            // judge has counted since the rollout started (a nominal rate before the first window).
            var span = (status.UpdatedAt - status.StartedAt).TotalSeconds;
            var counted = (last?.CanaryRequests ?? 0) + (last?.ControlRequests ?? 0);
            var rate = span > 0 && counted > 0 ? counted / span : NominalRequestsPerSecond;
            // The pods' band the judge's last window used: where the control's pods differ persistently a Pass needs more.
            var band = m.Judge is SequentialCountJudge counts ? counts.PassPodAllowance : 1;
            var plan = CanarySamplePlanner.Plan(rate, Math.Clamp(status.CanaryWeight / 100, 0.0001, 0.9999), analysis.Plan.Interval, PlannedRouting.Binomial,
                controlRate, judge.DetectRatio, judge.Alpha, passPodAllowance: band);
            // The metric furthest from its estimate decides when the step can end.
            if (plan.CanaryRequestsToPass is not { } needed) continue;
            if (slowest is null || (double)seen / needed < (double)slowest.Value.Seen / slowest.Value.Needed)
                slowest = (seen, needed);
        }
        return slowest;
    }
}
