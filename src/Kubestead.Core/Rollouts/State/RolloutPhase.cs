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
}

public static class RolloutPhaseExtensions
{
    public static bool IsTerminal(this RolloutPhase phase) =>
        phase is RolloutPhase.Completed or RolloutPhase.Aborted or RolloutPhase.Failed;
}
