namespace Kubestead.Controller;

/// <summary>A rollout as the controller's queue and cache know it.</summary>
public readonly record struct RolloutKey(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}
