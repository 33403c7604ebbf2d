namespace Kubestead.Rollouts.State;

/// <summary>Where a rollout is. Completed, Aborted and Failed are terminal.</summary>
public enum RolloutPhase
{
    Progressing,
    Paused,
    Promoting,
    Completed,
    Aborted,
    Failed,
}

/// <summary>Why a rollout is paused.</summary>
public enum PauseReason
{
    Manual,
    InsufficientData,
    Drift,
    MetricErrors,
    /// <summary>A webhook gate failed (non-2xx, no answer, unreachable); resume calls it again (issue #32).</summary>
    Webhook,
}

public static class RolloutPhaseExtensions
{
    public static bool IsTerminal(this RolloutPhase phase) =>
        phase is RolloutPhase.Completed or RolloutPhase.Aborted or RolloutPhase.Failed;
}
