using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Rollouts;

/// <summary>
/// The cluster as a dry run sees it: reads go to the real API, writes are recorded and never sent. Planning runs the
/// very code of the write against it, so a plan refuses exactly what the write refuses (a mesh without header routes,
/// a cookie value the router cannot express) and lists exactly the writes the call makes, instead of a description
/// that can drift from the code. A write answers with what the caller sent (create/replace) or what the object holds
/// now (patch): enough for code that writes once per call, which is what it is used for.
/// </summary>
internal sealed class WriteRecordingApi(IKubernetesApi api) : IKubernetesApi
{
    private readonly List<PlannedChange> _writes = [];

    public IReadOnlyList<PlannedChange> Writes => _writes;

    public string DefaultNamespace => api.DefaultNamespace;

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) => api.GetAsync(type, ns, name, ct);

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) => api.ListAsync(type, ns, options, ct);

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        api.GetSubresourceAsync(type, ns, name, subresource, ct);

    public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) =>
        api.WatchAsync(type, ns, options, ct);

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => api.DiscoverAsync(ct);

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default)
    {
        Record(type, ns, obj["metadata"]?["name"]?.GetValue<string>() ?? "(generated name)", "create", obj);
        return Task.FromResult(obj);
    }

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default)
    {
        Record(type, ns, name, "replace", obj);
        return Task.FromResult(obj);
    }

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default)
    {
        Record(type, ns, name, "patch", patch.ToJson());
        return api.GetAsync(type, ns, name, ct);
    }

    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        Record(type, ns, name, "delete", null);
        return Task.CompletedTask;
    }

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default)
    {
        Record(type, ns, name, $"replace {subresource} of", obj);
        return Task.FromResult(obj);
    }

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default)
    {
        Record(type, ns, name, $"patch {subresource} of", patch.ToJson());
        return api.GetSubresourceAsync(type, ns, name, subresource, ct);
    }

    private void Record(ResourceType type, string? ns, string name, string verb, JsonNode? body) =>
        _writes.Add(new PlannedChange(new ObjectReference(type, ns, name).ToString(), verb, $"{verb} {type.Kind} {name}", body?.ToJsonString()));
}
