using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Server;

/// <summary>
/// Fault injection for a real API server: counts the writes going through it and fails write number N, before it
/// reaches the server or after it applied (a lost answer), and optionally every delete of one object. The emulated
/// cluster has the same faults built in; a real server needs them in front of it.
/// </summary>
public sealed class FailingWriteApi(IKubernetesApi inner) : IKubernetesApi, IAsyncDisposable
{
    private readonly object _gate = new();
    private int _writes;

    public int? FailWrite { get; set; }
    public bool AfterApply { get; set; }
    public string? FailDeletesOf { get; set; }
    public List<string> Writes { get; } = new();

    public string DefaultNamespace => inner.DefaultNamespace;

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) => inner.GetAsync(type, ns, name, ct);

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) => inner.ListAsync(type, ns, options, ct);

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) =>
        type == ResourceType.SelfSubjectAccessReview
            ? inner.CreateAsync(type, ns, obj, ct)
            : WriteAsync($"CREATE {type.Plural}/{obj["metadata"]?["name"]}", () => inner.CreateAsync(type, ns, obj, ct));

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) =>
        WriteAsync($"UPDATE {type.Plural}/{name}", () => inner.ReplaceAsync(type, ns, name, obj, ct));

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        WriteAsync($"PATCH {type.Plural}/{name}", () => inner.PatchAsync(type, ns, name, patch, ct));

    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        if (FailDeletesOf is { } victim && $"{type.Plural}/{name}" == victim)
            throw new KubernetesApiException(503, StatusReason.ServiceUnavailable, $"injected failure deleting {victim}");
        return WriteAsync($"DELETE {type.Plural}/{name}", async () =>
        {
            await inner.DeleteAsync(type, ns, name, options, ct).ConfigureAwait(false);
            return true;
        });
    }

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        inner.GetSubresourceAsync(type, ns, name, subresource, ct);

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        WriteAsync($"UPDATE {type.Plural}/{name}/{subresource}", () => inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct));

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        WriteAsync($"PATCH {type.Plural}/{name}/{subresource}", () => inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct));

    public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) =>
        inner.WatchAsync(type, ns, options, ct);

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => inner.DiscoverAsync(ct);

    public ValueTask DisposeAsync() => (inner as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private async Task<T> WriteAsync<T>(string what, Func<Task<T>> write)
    {
        bool fail;
        lock (_gate)
        {
            Writes.Add(what);
            fail = ++_writes == FailWrite;
        }
        if (fail && !AfterApply) throw new KubernetesApiException(503, StatusReason.ServiceUnavailable, $"injected failure of write {_writes} ({what})");
        var result = await write().ConfigureAwait(false);
        if (fail) throw new KubernetesApiException(0, StatusReason.Unknown, $"connection dropped after {what} was applied");
        return result;
    }
}
