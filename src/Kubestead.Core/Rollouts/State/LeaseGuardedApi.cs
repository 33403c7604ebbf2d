using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Rollouts.State;

/// <summary>
/// The API as a drive sees it: reads pass through; every write first checks that this process still holds the
/// rollout's Lease (<see cref="RolloutLease.EnsureHeldAsync"/>: no request while it is fresh), so a driver that lost it
/// fails instead of writing over whoever drives now. The Lease's own writes do not pass here.
/// </summary>
public sealed class LeaseGuardedApi(IKubernetesApi inner, RolloutLease lease) : IKubernetesApi
{
    public string DefaultNamespace => inner.DefaultNamespace;

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) => inner.GetAsync(type, ns, name, ct);

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) => inner.ListAsync(type, ns, options, ct);

    public async Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default)
    {
        await lease.EnsureHeldAsync(ct).ConfigureAwait(false);
        return await inner.CreateAsync(type, ns, obj, ct).ConfigureAwait(false);
    }

    public async Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default)
    {
        await lease.EnsureHeldAsync(ct).ConfigureAwait(false);
        return await inner.ReplaceAsync(type, ns, name, obj, ct).ConfigureAwait(false);
    }

    public async Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default)
    {
        await lease.EnsureHeldAsync(ct).ConfigureAwait(false);
        return await inner.PatchAsync(type, ns, name, patch, ct).ConfigureAwait(false);
    }

    public async Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        await lease.EnsureHeldAsync(ct).ConfigureAwait(false);
        await inner.DeleteAsync(type, ns, name, options, ct).ConfigureAwait(false);
    }

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        inner.GetSubresourceAsync(type, ns, name, subresource, ct);

    public async Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default)
    {
        await lease.EnsureHeldAsync(ct).ConfigureAwait(false);
        return await inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct).ConfigureAwait(false);
    }

    public async Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default)
    {
        await lease.EnsureHeldAsync(ct).ConfigureAwait(false);
        return await inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct).ConfigureAwait(false);
    }

    public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) =>
        inner.WatchAsync(type, ns, options, ct);

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => inner.DiscoverAsync(ct);
}
