namespace Kubestead.Metrics.Connection;

/// <summary>One key of a Kubernetes Secret in the rollout's namespace.</summary>
public sealed record SecretKeyRef(string Name, string Key);
