namespace Kubestead.Events;

/// <summary>
/// Kubernetes Events a host could not write: <see cref="NotWritten"/> all of them (refused, failed, or dropped), of which
/// <see cref="Dropped"/> were never attempted because the queue was full (an API server that stopped accepting Events).
/// Events are a courtesy beside the rollout's state, so a host exports these rather than failing on them.
/// </summary>
public sealed record EventDeliveryCounts(int NotWritten, int Dropped)
{
    public static readonly EventDeliveryCounts None = new(0, 0);
}
