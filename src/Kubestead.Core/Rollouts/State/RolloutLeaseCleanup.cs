using Kubestead.Kubernetes;

namespace Kubestead.Rollouts.State;

/// <summary>Removes a finished rollout's Lease, unless a live driver still holds it (that driver releases it when it sees the end).</summary>
public static class RolloutLeaseCleanup
{
    public static async Task DeleteUnlessLiveAsync(IKubernetesApi api, TimeProvider clock, string ns, string rollout, DriverIdentity us, CancellationToken ct)
    {
        if (await FindRemovableAsync(api, clock, ns, rollout, us, ct).ConfigureAwait(false) is not { } lease) return;
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

    /// <summary>The rollout's Lease when <see cref="DeleteUnlessLiveAsync"/> would delete it (a dry run lists that delete); null otherwise.</summary>
    public static async Task<System.Text.Json.Nodes.JsonObject?> FindRemovableAsync(IKubernetesApi api, TimeProvider clock, string ns, string rollout, DriverIdentity us, CancellationToken ct)
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
        return !string.IsNullOrEmpty(holder) && holder != us.ToString() && RolloutLease.ExpiresAt(spec) > clock.GetUtcNow() ? null : lease;
    }
}
