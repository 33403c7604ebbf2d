using Kubestead.Kubernetes;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Removes a finished rollout's Lease when nobody holds it (released) or this process does. A Lease another driver still
/// names is left alone, live or not: whether it lapsed can only be judged by watching its resourceVersion stand still for
/// its duration on this process's clock (as acquisition does, <see cref="LeaseObservations"/>), never from the holder's
/// renewTime, which a clock-skewed machine writes; a one-shot clean-up cannot watch, and a stale Lease does no harm (the
/// next driver takes it over by observation, and a live one releases it when it sees the end).
/// </summary>
public static class RolloutLeaseCleanup
{
    public static async Task DeleteUnlessHeldByAnotherAsync(IKubernetesApi api, string ns, string rollout, DriverIdentity us, CancellationToken ct)
    {
        if (await FindRemovableAsync(api, ns, rollout, us, ct).ConfigureAwait(false) is not { } lease) return;
        try
        {
            await api.DeleteAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(rollout),
                new DeleteOptions(PreconditionResourceVersion: lease["metadata"]?["resourceVersion"]?.GetValue<string>()), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound || e.IsConflict)
        {
            // Gone already, or a new driver took it in between: either way it is not ours to remove.
        }
    }

    /// <summary>The rollout's Lease when <see cref="DeleteUnlessHeldByAnotherAsync"/> would delete it (a dry run lists that delete); null otherwise.</summary>
    public static async Task<System.Text.Json.Nodes.JsonObject?> FindRemovableAsync(IKubernetesApi api, string ns, string rollout, DriverIdentity us, CancellationToken ct)
    {
        System.Text.Json.Nodes.JsonObject lease;
        try
        {
            lease = await api.GetAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(rollout), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
        var spec = lease["spec"] as System.Text.Json.Nodes.JsonObject ?? new System.Text.Json.Nodes.JsonObject();
        var holder = spec["holderIdentity"]?.GetValue<string>();
        return string.IsNullOrEmpty(holder) || holder == us.ToString() ? lease : null;
    }
}
