using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>
/// An informer-style read-through cache in front of an <see cref="IKubernetesApi"/>, for a host that drives many rollouts
/// (the controller): the first GET of a cached type in a namespace starts one list+watch of that type there (resumed
/// from the last resourceVersion when the watch ends, relisted when it breaks), and later GETs of objects the watch holds
/// are answered from memory. Everything else, and every write, goes to the server unchanged.
/// <para>
/// Why a stale cache cannot make a write land on old data: the engine's writes are pinned (resourceVersion in the patch
/// or a JSON Patch <c>test</c>), so a write computed from a stale read fails with 409 Conflict at the server. A failed
/// write marks its object, and the next GET of a marked object goes to the server (so the engine's conflict retry
/// re-reads fresh data, not the same stale copy). A successful write's answer replaces the cached copy, so the driver
/// reads its own writes even before the watch delivers them; the cache only ever moves to a newer resourceVersion.
/// </para>
/// </summary>
public sealed class WatchCachedApi : IKubernetesApi, IAsyncDisposable
{
    private readonly IKubernetesApi _inner;
    private readonly IReadOnlyList<CachedResource> _cached;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<(string Plural, string Group, string Ns), WatchedScope> _scopes = new();

    public WatchCachedApi(IKubernetesApi inner, IReadOnlyList<CachedResource> cached, TimeProvider clock)
    {
        _inner = inner;
        _cached = cached;
        _clock = clock;
    }

    /// <summary>Told of every watch that breaks (the host logs it); must not throw.</summary>
    public Action<ResourceType, string, Exception>? OnWatchBroken { get; init; }

    /// <summary>GETs answered from the watch caches since this instance was made.</summary>
    public long CacheHits => Interlocked.Read(ref _hits);

    private long _hits;

    public string DefaultNamespace => _inner.DefaultNamespace;

    public async Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default)
    {
        var scope = ScopeFor(type, ns);
        if (scope?.TryGet(name) is { } hit)
        {
            Interlocked.Increment(ref _hits);
            return hit;
        }
        var fresh = await _inner.GetAsync(type, ns, name, ct).ConfigureAwait(false);
        scope?.Refreshed(name, fresh);
        return fresh;
    }

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) =>
        _inner.ListAsync(type, ns, options, ct);

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) =>
        WriteAsync(type, ns, obj["metadata"]?["name"]?.GetValue<string>(), () => _inner.CreateAsync(type, ns, obj, ct), keepAnswer: true);

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) =>
        WriteAsync(type, ns, name, () => _inner.ReplaceAsync(type, ns, name, obj, ct), keepAnswer: true);

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        WriteAsync(type, ns, name, () => _inner.PatchAsync(type, ns, name, patch, ct), keepAnswer: true);

    public async Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        // Gone or not, the cached copy is no longer to be trusted.
        ScopeFor(type, ns)?.MarkStale(name);
        await _inner.DeleteAsync(type, ns, name, options, ct).ConfigureAwait(false);
    }

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        _inner.GetSubresourceAsync(type, ns, name, subresource, ct);

    // A subresource write changes the object but answers with the subresource: the next read of the object goes to the server.
    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        WriteAsync(type, ns, name, () => _inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct), keepAnswer: false);

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        WriteAsync(type, ns, name, () => _inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct), keepAnswer: false);

    public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) =>
        _inner.WatchAsync(type, ns, options, ct);

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => _inner.DiscoverAsync(ct);

    private async Task<JsonObject> WriteAsync(ResourceType type, string? ns, string? name, Func<Task<JsonObject>> write, bool keepAnswer)
    {
        var scope = name is null ? null : ScopeFor(type, ns);
        JsonObject answer;
        try
        {
            answer = await write().ConfigureAwait(false);
        }
        catch
        {
            // A conflict says our copy is old; any other failure leaves us unsure what the server holds.
            scope?.MarkStale(name!);
            throw;
        }
        if (scope is not null)
        {
            if (keepAnswer) scope.Refreshed(name!, answer);
            else scope.MarkStale(name!);
        }
        return answer;
    }

    private WatchedScope? ScopeFor(ResourceType type, string? ns)
    {
        if (ns is null || _stop.IsCancellationRequested) return null;
        var cached = _cached.FirstOrDefault(c => c.Type.Plural == type.Plural && c.Type.Group == type.Group);
        if (cached is null) return null;
        return _scopes.GetOrAdd((type.Plural, type.Group, ns), _ =>
        {
            var scope = new WatchedScope();
            scope.Run = Task.Run(() => WatchLoopAsync(type, ns, cached.LabelSelector, scope, _stop.Token));
            return scope;
        });
    }

    private async Task WatchLoopAsync(ResourceType type, string ns, string? selector, WatchedScope scope, CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _inner.ListAsync(type, ns, new ListOptions(selector), ct).ConfigureAwait(false);
                scope.Replace(list.Items);
                var resourceVersion = list.ResourceVersion;
                while (!ct.IsCancellationRequested)
                {
                    await foreach (var e in _inner.WatchAsync(type, ns, new WatchOptions(selector, resourceVersion), ct).ConfigureAwait(false))
                    {
                        failures = 0;
                        resourceVersion = ResourceVersionOf(e.Object) ?? resourceVersion;
                        scope.Apply(e);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Until the relist, reads go to the server: a broken watch must not serve what it can no longer follow.
                scope.Unsync();
                OnWatchBroken?.Invoke(type, ns, e);
                failures++;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(failures, 5)))), _clock, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    internal static string? ResourceVersionOf(JsonObject obj) => obj["metadata"]?["resourceVersion"]?.GetValue<string>();

    /// <summary>True when <paramref name="candidate"/> may replace <paramref name="held"/>: newer, or not comparable.</summary>
    internal static bool IsNotOlder(string? candidate, string? held) =>
        !ulong.TryParse(candidate, NumberStyles.None, CultureInfo.InvariantCulture, out var c)
        || !ulong.TryParse(held, NumberStyles.None, CultureInfo.InvariantCulture, out var h)
        || c >= h;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var scope in _scopes.Values)
            if (scope.Run is { } run) await run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        if (_inner is IAsyncDisposable inner) await inner.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One watched (type, namespace): the objects as last seen, and which of them a failed write made suspect.</summary>
    private sealed class WatchedScope
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
        private readonly HashSet<string> _stale = new(StringComparer.Ordinal);
        private bool _synced;

        public Task? Run { get; set; }

        public JsonObject? TryGet(string name)
        {
            lock (_gate)
                return _synced && !_stale.Contains(name) && _objects.TryGetValue(name, out var o) ? o.DeepClone().AsObject() : null;
        }

        public void Refreshed(string name, JsonObject fresh)
        {
            lock (_gate)
            {
                _stale.Remove(name);
                Keep(name, fresh);
            }
        }

        public void MarkStale(string name)
        {
            lock (_gate) _stale.Add(name);
        }

        public void Replace(IReadOnlyList<JsonObject> items)
        {
            lock (_gate)
            {
                _objects.Clear();
                foreach (var o in items)
                    if (o["metadata"]?["name"]?.GetValue<string>() is { } name) _objects[name] = o.DeepClone().AsObject();
                _synced = true;
            }
        }

        public void Unsync()
        {
            lock (_gate) _synced = false;
        }

        public void Apply(WatchEvent e)
        {
            if (e.Type is WatchEventType.Bookmark or WatchEventType.Error) return;
            if (e.Object["metadata"]?["name"]?.GetValue<string>() is not { } name) return;
            lock (_gate)
            {
                if (e.Type == WatchEventType.Deleted) _objects.Remove(name);
                else Keep(name, e.Object);
            }
        }

        private void Keep(string name, JsonObject obj)
        {
            if (_objects.TryGetValue(name, out var held) && !IsNotOlder(ResourceVersionOf(obj), ResourceVersionOf(held))) return;
            _objects[name] = obj.DeepClone().AsObject();
        }
    }
}
