using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// A start failed after its first write and before traffic moved. The message holds the original error and what was
/// undone, or, when the undo itself failed, exactly what was left behind (the rollout is then recorded as Failed and
/// <c>abort</c> finishes it). The original error is the inner exception; its id and kind are kept.
/// </summary>
public sealed class StartUndoneException(Exception original, string message, IReadOnlyList<string> undone, IReadOnlyList<string> leftovers)
    : RolloutException(
        (original as KubesteadException)?.ErrorId ?? "StartFailed",
        (original as KubesteadException)?.Kind ?? KubesteadErrorKind.Unavailable,
        message,
        (original as KubesteadException)?.Target ?? (original as Kubernetes.KubernetesApiException)?.Target?.ToString(),
        original)
{
    public IReadOnlyList<string> Undone { get; } = undone;

    /// <summary>Empty when the undo left nothing behind.</summary>
    public IReadOnlyList<string> Leftovers { get; } = leftovers;
}
