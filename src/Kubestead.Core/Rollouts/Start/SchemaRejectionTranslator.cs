using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// Turns a write the cluster refuses for a field's value (422 Invalid with field causes: a CRD's OpenAPI schema or CEL
/// rule, e.g. a header name an HTTPRoute does not allow) into an invalid-input error that names the object and the
/// fields, because the value came from the user's spec. A 422 without causes is a failed JSON Patch <c>test</c>
/// (a concurrent edit) and passes through unchanged, so the engine's conflict handling still sees it.
/// </summary>
internal sealed class SchemaRejectionTranslator(IKubernetesApi inner) : IKubernetesApi, IAsyncDisposable
{
    public string DefaultNamespace => inner.DefaultNamespace;

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) => inner.GetAsync(type, ns, name, ct);

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) =>
        inner.ListAsync(type, ns, options, ct);

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) =>
        Translate(() => inner.CreateAsync(type, ns, obj, ct));

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) =>
        Translate(() => inner.ReplaceAsync(type, ns, name, obj, ct));

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        Translate(() => inner.PatchAsync(type, ns, name, patch, ct));

    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) =>
        inner.DeleteAsync(type, ns, name, options, ct);

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        inner.GetSubresourceAsync(type, ns, name, subresource, ct);

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        Translate(() => inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct));

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        Translate(() => inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct));

    public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) =>
        inner.WatchAsync(type, ns, options, ct);

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => inner.DiscoverAsync(ct);

    public ValueTask DisposeAsync() => (inner as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static async Task<JsonObject> Translate(Func<Task<JsonObject>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsInvalid && e.Causes.Any(c => !string.IsNullOrEmpty(c.Field)))
        {
            var what = e.Target?.ToString() ?? "an object";
            var fields = string.Join("; ", e.Causes.Where(c => !string.IsNullOrEmpty(c.Field)).Select(c => $"{c.Field}: {c.Message}"));
            throw new KubesteadException("RejectedByClusterSchema", KubesteadErrorKind.InvalidInput,
                $"the cluster refused the value Kubestead would write to {what} ({fields}); fix the rollout spec value that produces it",
                e.Target?.ToString(), e);
        }
    }
}
