using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Controller;

/// <summary>
/// The controller's view of the rollouts handed to it: one watch of their state ConfigMaps (by label) and one of their
/// Leases per namespace (or one each for all namespaces), resumed from the last resourceVersion seen when a watch
/// breaks, and a full list every resync that replaces the view (a relist after 410 Gone reports no deletions, the
/// resync does). Nothing here polls a single rollout.
/// </summary>
public sealed class RolloutInformer(IKubernetesApi api, IReadOnlyList<string>? namespaces, TimeProvider clock, IControllerObserver observer)
{
    private readonly ConcurrentDictionary<RolloutKey, WatchedRollout> _rollouts = new();

    /// <summary>A rollout changed (or was seen at a resync) and needs a driver.</summary>
    public event Action<RolloutKey>? NeedsDriver;

    /// <summary>Every Lease version the watch sees (added or renewed), for the engine's expiry judgement.</summary>
    public event Action<string, string, string?>? LeaseSeen;

    /// <summary>Every rollout handed to controllers, as last seen.</summary>
    public ICollection<WatchedRollout> Rollouts => _rollouts.Values;

    public bool TryGet(RolloutKey key, out WatchedRollout rollout) => _rollouts.TryGetValue(key, out rollout!);

    private IEnumerable<string?> Scopes => namespaces is null ? [null] : namespaces.Cast<string?>();

    /// <summary>Runs the watches until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct) =>
        Task.WhenAll(Scopes.SelectMany(ns => new[]
        {
            WatchLoopAsync(ResourceType.ConfigMap, ns, ControllerHandoff.StateSelector, OnStateEvent, ct),
            WatchLoopAsync(ResourceType.Lease, ns, ControllerHandoff.LeaseSelector, OnLeaseEvent, ct),
        }));

    /// <summary>Lists every scope afresh, replaces the view, and reports every rollout that needs a driver.</summary>
    public async Task ResyncAsync(CancellationToken ct)
    {
        var seen = new HashSet<RolloutKey>();
        foreach (var ns in Scopes)
        {
            string? token = null;
            do
            {
                var page = await api.ListAsync(ResourceType.ConfigMap, ns, new ListOptions(ControllerHandoff.StateSelector, Limit: 500, Continue: token), ct).ConfigureAwait(false);
                foreach (var cm in page.Items)
                    if (Watched(cm) is { } w)
                    {
                        seen.Add(w.Key);
                        _rollouts[w.Key] = w;
                    }
                token = page.Continue;
            } while (!string.IsNullOrEmpty(token));
        }
        foreach (var key in _rollouts.Keys.Where(k => !seen.Contains(k)).ToList()) _rollouts.TryRemove(key, out _);
        foreach (var w in _rollouts.Values.Where(w => w.NeedsDriver)) NeedsDriver?.Invoke(w.Key);
    }

    private async Task WatchLoopAsync(ResourceType type, string? ns, string selector, Action<WatchEvent> handle, CancellationToken ct)
    {
        string? resourceVersion = null;
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in api.WatchAsync(type, ns, new WatchOptions(selector, resourceVersion), ct).ConfigureAwait(false))
                {
                    failures = 0;
                    resourceVersion = e.Object["metadata"]?["resourceVersion"]?.GetValue<string>() ?? resourceVersion;
                    handle(e);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException)
            {
                observer.OnEvent(new ControllerEvent(clock.GetUtcNow(), ControllerEventKind.Trouble, null,
                    $"watch of {type.Plural} in {ns ?? "all namespaces"} broke ({e.Message}); resuming from resourceVersion {resourceVersion ?? "(a fresh list)"}"));
                if (e is KubernetesApiException { IsGone: true }) resourceVersion = null;
                failures++;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(failures, 5)))), clock, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnStateEvent(WatchEvent e)
    {
        if (e.Type == WatchEventType.Bookmark || e.Type == WatchEventType.Error) return;
        if (Watched(e.Object) is not { } w) return;
        if (e.Type == WatchEventType.Deleted)
        {
            _rollouts.TryRemove(w.Key, out _);
            return;
        }
        _rollouts[w.Key] = w;
        if (w.NeedsDriver) NeedsDriver?.Invoke(w.Key);
    }

    /// <summary>A Lease given up (or deleted) frees its rollout now, not when it would have expired.</summary>
    private void OnLeaseEvent(WatchEvent e)
    {
        if (e.Type is WatchEventType.Bookmark or WatchEventType.Error) return;
        var metadata = e.Object["metadata"] as JsonObject;
        var ns = metadata?["namespace"]?.GetValue<string>();
        var rollout = metadata?["labels"]?[RolloutStateStore.RolloutLabel]?.GetValue<string>();
        if (ns is null || rollout is null) return;
        var holder = e.Object["spec"]?["holderIdentity"]?.GetValue<string>();
        var key = new RolloutKey(ns, rollout);
        if (e.Type != WatchEventType.Deleted) LeaseSeen?.Invoke(ns, rollout, metadata?["resourceVersion"]?.GetValue<string>());
        if ((e.Type == WatchEventType.Deleted || string.IsNullOrEmpty(holder)) && _rollouts.TryGetValue(key, out var w) && w.NeedsDriver)
            NeedsDriver?.Invoke(key);
    }

    private WatchedRollout? Watched(JsonObject configMap)
    {
        try
        {
            return WatchedRollout.From(RolloutStateStore.FromConfigMap(configMap));
        }
        catch (RolloutStateCorruptException e)
        {
            // A broken state object is the engine's error to report when someone drives it by hand; here it is skipped.
            observer.OnEvent(new ControllerEvent(clock.GetUtcNow(), ControllerEventKind.Trouble, null, e.Message));
            return null;
        }
    }
}
