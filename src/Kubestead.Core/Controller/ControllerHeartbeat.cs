using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.State;

namespace Kubestead.Controller;

/// <summary>
/// A replica's sign of life: a Lease <c>kubestead-controller-&lt;replica&gt;</c> in the controller's home namespace,
/// renewed every third of its duration, naming the namespaces the replica serves. Replicas count each other's live
/// heartbeats to take only their fair share of free rollouts; nothing else depends on it (each rollout's own Lease
/// still decides who drives it), so a stale heartbeat costs balance, never safety.
/// </summary>
public sealed class ControllerHeartbeat(IKubernetesApi api, TimeProvider clock, string homeNamespace, string replica, TimeSpan duration, IReadOnlyList<string>? namespaces)
{
    public const string ComponentValue = "controller";
    public const string NamespacesAnnotation = "kubestead.io/namespaces";
    public static readonly string Selector = $"{RolloutStateStore.ManagedByLabel}=kubestead,{RolloutStateStore.ComponentLabel}={ComponentValue}";

    private string? _resourceVersion;

    public string ObjectName { get; } = NameFor(replica);

    /// <summary>When this replica's heartbeat was last written (null before the first beat).</summary>
    public DateTimeOffset? LastWritten { get; private set; }

    private readonly Dictionary<string, DateTimeOffset> _peers = new();
    private string? _listedAt;

    /// <summary>Replicas whose heartbeat has not expired (this one included).</summary>
    public int LiveReplicas
    {
        get
        {
            var now = clock.GetUtcNow();
            lock (_peers) return Math.Max(1, _peers.Count(p => p.Value > now || p.Key == ObjectName));
        }
    }

    /// <summary>
    /// When the next other replica's heartbeat expires unless renewed (null: no other live replica). A replica over its
    /// share looks again then: a killed peer's heartbeat expires by itself, with no watch event to say so, and until it
    /// does the dead peer still counts in the fair share.
    /// </summary>
    public DateTimeOffset? NextPeerExpiry
    {
        get
        {
            var now = clock.GetUtcNow();
            lock (_peers)
            {
                var live = _peers.Where(p => p.Key != ObjectName && p.Value > now).Select(p => p.Value).ToList();
                return live.Count == 0 ? null : live.Min();
            }
        }
    }

    public static string NameFor(string replica)
    {
        var clean = new string(replica.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        var name = "kubestead-controller-" + clean;
        return name.Length <= 63 ? name : name[..63].TrimEnd('-');
    }

    /// <summary>Writes this replica's heartbeat (one write per beat).</summary>
    public async Task BeatAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var lease = new JsonObject
        {
            ["apiVersion"] = "coordination.k8s.io/v1",
            ["kind"] = "Lease",
            ["metadata"] = new JsonObject
            {
                ["name"] = ObjectName,
                ["namespace"] = homeNamespace,
                ["labels"] = new JsonObject { [RolloutStateStore.ManagedByLabel] = "kubestead", [RolloutStateStore.ComponentLabel] = ComponentValue },
                ["annotations"] = new JsonObject { [NamespacesAnnotation] = namespaces is null ? "*" : string.Join(",", namespaces) },
            },
            ["spec"] = new JsonObject
            {
                ["holderIdentity"] = replica,
                ["leaseDurationSeconds"] = (int)Math.Ceiling(duration.TotalSeconds),
                ["renewTime"] = RolloutLease.FormatMicroTime(now),
            },
        };
        if (_resourceVersion is null)
        {
            _resourceVersion = await WriteFreshAsync(lease, ct).ConfigureAwait(false);
        }
        else
        {
            try
            {
                lease["metadata"]!["resourceVersion"] = _resourceVersion;
                _resourceVersion = Version(await api.ReplaceAsync(ResourceType.Lease, homeNamespace, ObjectName, lease, ct).ConfigureAwait(false));
            }
            catch (KubernetesApiException e) when (e.IsNotFound || e.IsConflict)
            {
                // Deleted or edited by someone: write it afresh.
                _resourceVersion = await WriteFreshAsync(lease, ct).ConfigureAwait(false);
            }
        }
        LastWritten = now;
    }

    /// <summary>Reads every replica's heartbeat once, before this replica takes any work; the watch goes on from there.</summary>
    public async Task ListPeersAsync(CancellationToken ct)
    {
        var all = await api.ListAsync(ResourceType.Lease, homeNamespace, new ListOptions(Selector), ct).ConfigureAwait(false);
        lock (_peers)
        {
            _peers.Clear();
            foreach (var lease in all.Items)
                if (lease["metadata"]?["name"]?.GetValue<string>() is { } name && lease["spec"] is JsonObject spec && !string.IsNullOrEmpty(spec["holderIdentity"]?.GetValue<string>()))
                    _peers[name] = RolloutLease.ExpiresAt(spec);
        }
        _listedAt = all.ResourceVersion;
    }

    /// <summary>
    /// Follows every replica's heartbeat with a watch, so a replica that starts or stops changes the others' fair
    /// share at once rather than at their next beat (a newcomer would otherwise be invisible for a third of a duration).
    /// </summary>
    public async Task WatchPeersAsync(CancellationToken ct)
    {
        var resourceVersion = _listedAt;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in api.WatchAsync(ResourceType.Lease, homeNamespace, new WatchOptions(Selector, resourceVersion), ct).ConfigureAwait(false))
                {
                    resourceVersion = e.Object["metadata"]?["resourceVersion"]?.GetValue<string>() ?? resourceVersion;
                    var name = e.Object["metadata"]?["name"]?.GetValue<string>();
                    if (name is null || e.Type is WatchEventType.Bookmark or WatchEventType.Error) continue;
                    lock (_peers)
                    {
                        if (e.Type == WatchEventType.Deleted || e.Object["spec"] is not JsonObject spec || string.IsNullOrEmpty(spec["holderIdentity"]?.GetValue<string>()))
                            _peers.Remove(name);
                        else
                            _peers[name] = RolloutLease.ExpiresAt(spec);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException)
            {
                if (e is KubernetesApiException { IsGone: true }) resourceVersion = null;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), clock, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string?> WriteFreshAsync(JsonObject lease, CancellationToken ct)
    {
        lease["metadata"]!.AsObject().Remove("resourceVersion");
        try
        {
            return Version(await api.CreateAsync(ResourceType.Lease, homeNamespace, lease, ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
            // Left by an earlier run of the same replica name: it is ours, take it over.
            var current = await api.GetAsync(ResourceType.Lease, homeNamespace, ObjectName, ct).ConfigureAwait(false);
            lease["metadata"]!["resourceVersion"] = Version(current);
            return Version(await api.ReplaceAsync(ResourceType.Lease, homeNamespace, ObjectName, lease, ct).ConfigureAwait(false));
        }
    }

    /// <summary>Removes the heartbeat when the replica stops, so the others' fair share grows at once.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        try
        {
            await api.DeleteAsync(ResourceType.Lease, homeNamespace, ObjectName, null, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }

    private static string? Version(JsonObject o) => o["metadata"]?["resourceVersion"]?.GetValue<string>();
}
