namespace Kubestead.Rollouts.Canary;

/// <summary>The canary Deployment's pods as the engine read them: all of the planned count ready, or how many of how many.</summary>
public sealed record CanaryReadiness(bool AllReady, int ReadyReplicas, int PlannedReplicas)
{
    public override string ToString() => $"{ReadyReplicas} of {PlannedReplicas} canary pods ready";
}
