using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.State;

namespace Kubestead.Controller;

/// <summary>A controller replica whose heartbeat is live and which serves the namespace asked about.</summary>
public sealed record LiveController(string Replica, TimeSpan HeartbeatAge);

/// <summary>
/// Whether any controller replica would pick up a rollout handed over now. Read from the replicas' heartbeat Leases in
/// the controller's namespace: one list, readable with a namespaced Role there, so a CI job needs no cluster-wide rights.
/// </summary>
public static class ControllerPresence
{
    public const string DefaultNamespace = "kubestead-system";

    public static async Task<IReadOnlyList<LiveController>> FindAsync(IKubernetesApi api, TimeProvider clock, string controllerNamespace, string rolloutNamespace, CancellationToken ct)
    {
        ObjectList leases;
        try
        {
            leases = await api.ListAsync(ResourceType.Lease, controllerNamespace, new ListOptions(ControllerHeartbeat.Selector), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return [];
        }
        var now = clock.GetUtcNow();
        var live = new List<LiveController>();
        foreach (var lease in leases.Items)
        {
            if (lease["spec"] is not JsonObject spec || spec["holderIdentity"]?.GetValue<string>() is not { Length: > 0 } replica) continue;
            if (RolloutLease.ExpiresAt(spec) <= now) continue;
            var served = lease["metadata"]?["annotations"]?[ControllerHeartbeat.NamespacesAnnotation]?.GetValue<string>() ?? "*";
            if (served != "*" && !served.Split(',').Contains(rolloutNamespace, StringComparer.Ordinal)) continue;
            var renewed = DateTimeOffset.TryParse(spec["renewTime"]?.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : now;
            live.Add(new LiveController(replica, now - renewed));
        }
        return live;
    }

    /// <summary>Refuses, saying how to start one, when no live controller serves <paramref name="rolloutNamespace"/>.</summary>
    public static async Task<IReadOnlyList<LiveController>> RequireAsync(IKubernetesApi api, TimeProvider clock, string controllerNamespace, string rolloutNamespace, CancellationToken ct)
    {
        var live = await FindAsync(api, clock, controllerNamespace, rolloutNamespace, ct).ConfigureAwait(false);
        if (live.Count == 0)
            throw new NoLiveControllerException(controllerNamespace, rolloutNamespace);
        return live;
    }
}
