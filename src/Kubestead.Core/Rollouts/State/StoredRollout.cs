namespace Kubestead.Rollouts.State;

/// <summary>A rollout as read from its ConfigMap: the spec text as the user wrote it, the status, and the version read.</summary>
public sealed record StoredRollout(string Namespace, string Name, string SpecYaml, RolloutStatus Status, string ResourceVersion);
