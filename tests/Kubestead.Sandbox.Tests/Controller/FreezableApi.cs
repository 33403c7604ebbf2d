using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// One controller replica's line to the cluster, which the test can freeze: every request made while frozen waits
/// until thawed (SIGSTOP and SIGCONT), or forever (kill -9: the replica never speaks again). Requests already answered
/// stay answered, as with a real process stopped between two requests.
/// </summary>
internal sealed class FreezableApi(IKubernetesApi inner) : IKubernetesApi
{
    private readonly object _gate = new();
    private TaskCompletionSource? _frozen;

    /// <summary>Every write that reached the cluster through this replica, with the time it landed.</summary>
    public List<(DateTimeOffset At, string Write)> Writes { get; } = new();

    public TimeProvider? Clock { get; init; }

    /// <summary>Every request that reached the cluster through this replica, by verb and resource ("get deployments"); a watch counts once when opened.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> Requests { get; } = new();

    private void Count(string verb, ResourceType type) => Requests.AddOrUpdate($"{verb} {type.Plural}", 1, (_, n) => n + 1);

    public void Freeze()
    {
        lock (_gate) _frozen ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Thaw()
    {
        TaskCompletionSource? frozen;
        lock (_gate)
        {
            frozen = _frozen;
            _frozen = null;
        }
        frozen?.SetResult();
    }

    private async Task GateAsync()
    {
        Task? wait;
        lock (_gate) wait = _frozen?.Task;
        if (wait is not null) await wait.ConfigureAwait(false);
    }

    private async Task<T> Through<T>(Func<Task<T>> call)
    {
        await GateAsync().ConfigureAwait(false);
        return await call().ConfigureAwait(false);
    }

    private async Task<JsonObject> Write(string what, Func<Task<JsonObject>> call)
    {
        await GateAsync().ConfigureAwait(false);
        var result = await call().ConfigureAwait(false);
        lock (Writes) Writes.Add((Clock?.GetUtcNow() ?? default, what));
        return result;
    }

    private Task<T> Count<T>(string verb, ResourceType type, Task<T> call)
    {
        Count(verb, type);
        return call;
    }

    public string DefaultNamespace => inner.DefaultNamespace;

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) =>
        Count("get", type, Through(() => inner.GetAsync(type, ns, name, ct)));

    public async Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        Task? held;
        lock (_gate) held = type == _heldListType ? _listsHeld?.Task : null;
        if (held is not null) await held.ConfigureAwait(false);
        Count("list", type);
        return await Through(() => inner.ListAsync(type, ns, options, ct)).ConfigureAwait(false);
    }

    private TaskCompletionSource? _listsHeld;
    private ResourceType? _heldListType;

    /// <summary>Lists of <paramref name="type"/> wait until <see cref="ReleaseLists"/> (a slow list on a loaded machine); every other request goes through.</summary>
    public void HoldLists(ResourceType type)
    {
        lock (_gate)
        {
            _heldListType = type;
            _listsHeld ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseLists()
    {
        TaskCompletionSource? held;
        lock (_gate)
        {
            held = _listsHeld;
            _listsHeld = null;
        }
        held?.SetResult();
    }

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) =>
        Count("create", type, Write($"CREATE {type.Plural} {ns}/{obj["metadata"]?["name"]}", () => inner.CreateAsync(type, ns, obj, ct)));

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) =>
        Count("update", type, Write($"UPDATE {type.Plural} {ns}/{name}", () => inner.ReplaceAsync(type, ns, name, obj, ct)));

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        Count("patch", type, Write($"PATCH {type.Plural} {ns}/{name}", () => inner.PatchAsync(type, ns, name, patch, ct)));

    public async Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        Count("delete", type);
        await GateAsync().ConfigureAwait(false);
        await inner.DeleteAsync(type, ns, name, options, ct).ConfigureAwait(false);
        lock (Writes) Writes.Add((Clock?.GetUtcNow() ?? default, $"DELETE {type.Plural} {ns}/{name}"));
    }

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        Count($"get {subresource} of", type, Through(() => inner.GetSubresourceAsync(type, ns, name, subresource, ct)));

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        Count($"update {subresource} of", type, Write($"UPDATE {type.Plural}/{subresource} {ns}/{name}", () => inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct)));

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        Count($"patch {subresource} of", type, Write($"PATCH {type.Plural}/{subresource} {ns}/{name}", () => inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct)));

    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        Count("watch", type);
        await foreach (var e in inner.WatchAsync(type, ns, options, ct).ConfigureAwait(false))
        {
            await GateAsync().ConfigureAwait(false);
            yield return e;
        }
    }

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => Through(() => inner.DiscoverAsync(ct));
}
