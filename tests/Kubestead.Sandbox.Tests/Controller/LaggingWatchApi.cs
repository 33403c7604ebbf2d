using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>A line to the cluster whose watches deliver nothing until <see cref="CatchUp"/>: a watch cache that lags behind the server.</summary>
internal sealed class LaggingWatchApi(IKubernetesApi inner) : IKubernetesApi
{
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void CatchUp() => _caughtUp.TrySetResult();

    public string DefaultNamespace => inner.DefaultNamespace;
    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) => inner.GetAsync(type, ns, name, ct);
    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) => inner.ListAsync(type, ns, options, ct);
    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) => inner.CreateAsync(type, ns, obj, ct);
    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) => inner.ReplaceAsync(type, ns, name, obj, ct);
    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) => inner.PatchAsync(type, ns, name, patch, ct);
    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) => inner.DeleteAsync(type, ns, name, options, ct);
    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        inner.GetSubresourceAsync(type, ns, name, subresource, ct);
    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct);
    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct);
    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => inner.DiscoverAsync(ct);

    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await _caughtUp.Task.WaitAsync(ct).ConfigureAwait(false);
        await foreach (var e in inner.WatchAsync(type, ns, options, ct).ConfigureAwait(false)) yield return e;
    }
}
