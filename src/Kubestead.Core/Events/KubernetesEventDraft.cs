using Kubestead.Analysis;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Events;

/// <summary>
/// What one rollout event says as a Kubernetes Event (events.k8s.io/v1): its type (Normal or Warning), reason (why, in
/// CamelCase), action (what Kubestead did) and note (the human sentence). Engine chatter (verbose lines, waits, warm-up
/// windows) has none: Events are for what a person reading <c>kubectl describe deployment</c> needs.
/// </summary>
public sealed record KubernetesEventDraft(string Namespace, string Rollout, string Type, string Reason, string Action, string Note)
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";

    public static KubernetesEventDraft? From(RolloutEvent e) => e switch
    {
        PhaseChangedEvent p => new(e.Namespace, e.Rollout, p.Phase is RolloutPhase.Paused or RolloutPhase.Aborted or RolloutPhase.Failed ? Warning : Normal,
            "Rollout" + p.Phase, "ChangePhase", $"rollout {e.Rollout} is {p.Phase}{(p.Reason is { } r ? $" ({r})" : "")}: {p.Detail}"),
        StepStartedEvent s => new(e.Namespace, e.Rollout, Normal, "StepStarted", "Step", $"step {s.StepIndex + 1}/{s.StepCount}: {s.Step}"),
        WeightAppliedEvent w => new(e.Namespace, e.Rollout, Normal, "WeightChanged", "SetWeight",
            $"canary {w.CanaryPercent:0.###}%, stable {w.StablePercent:0.###}% ({w.Source})"),
        VerdictEvent v => Verdict(e, v.Verdict, "Analyze"),
        BackgroundVerdictEvent b => Verdict(e, b.Verdict, "AnalyzeInBackground"),
        WarningEvent w => new(e.Namespace, e.Rollout, Warning, "RolloutWarning", "Warn", w.Text),
        _ => null,
    };

    private static KubernetesEventDraft Verdict(RolloutEvent e, Verdict v, string action) =>
        new(e.Namespace, e.Rollout, v.Outcome is VerdictOutcome.Fail or VerdictOutcome.Error ? Warning : Normal, "Analysis" + v.Outcome, action,
            $"{v.Metric}: {v.Outcome} ({v.Summary})");
}
