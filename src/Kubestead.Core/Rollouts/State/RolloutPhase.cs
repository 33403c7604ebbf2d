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
    /// <summary>The stable Deployment was deleted mid-rollout; resume once it is back (issue #26 item 9).</summary>
    StableMissing,
}

public static class RolloutPhaseExtensions
{
    public static bool IsTerminal(this RolloutPhase phase) =>
        phase is RolloutPhase.Completed or RolloutPhase.Aborted or RolloutPhase.Failed;
}
