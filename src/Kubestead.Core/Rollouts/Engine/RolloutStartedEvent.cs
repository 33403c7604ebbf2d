namespace Kubestead.Rollouts.Engine;

/// <summary>A start recorded the rollout's state: it exists in the cluster and is about to prepare its canary.</summary>
public sealed record RolloutStartedEvent(DateTimeOffset At, string Namespace, string Rollout, int StepCount, string MeshProvider)
    : RolloutEvent(At, Namespace, Rollout, $"rollout {Rollout} started ({StepCount} steps, {MeshProvider})");
