using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Start;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Engine;

/// <summary>
/// Clean-up that works from any state a rollout can be left in: traffic back to stable wherever a route object exists
/// (a route object that never existed is skipped, not an error), then every object the rollout created removed, found
/// by its ownership marks rather than by the names Kubestead would have used. Shared by abort and by the undo of a
/// start that failed before traffic moved. Every step is idempotent.
/// </summary>
public sealed class RolloutCleanup(IKubernetesApi api, string ns, string rollout, RolloutFootprint footprint)
{
    /// <summary>The split after traffic went back to stable, and whether that took a write.</summary>
    public sealed record StableReturn(TrafficSplit Split, bool Written);

    /// <summary>Sends all traffic to stable; null when there is no route object (or no canary in it) to change.</summary>
    public static async Task<StableReturn?> ReturnTrafficToStableAsync(RolloutRuntime rt, CancellationToken ct)
    {
        try
        {
            // Without a mesh the canary's share is its ready pods, which may lag its replica count: always scale it down.
            var now = await rt.Router.GetSplitAsync(ct).ConfigureAwait(false);
            if (now.CanaryPercent <= 0 && rt.MeshProvider != Specs.MeshProviders.None) return new StableReturn(now, false);
            return new StableReturn(await rt.Router.SetCanaryWeightAsync(0, ct).ConfigureAwait(false), true);
        }
        catch (Exception e) when (IsAbsent(e))
        {
            return null;
        }
    }

    /// <summary>Runs a clean-up step of a router or workload, treating an object that is not there as already clean.</summary>
    public static async Task SkipMissingAsync(Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (Exception e) when (IsAbsent(e))
        {
        }
    }

    /// <summary>
    /// The route or object a step needs does not exist, or exists without the canary Kubestead would have added:
    /// nothing of the rollout's is there to undo.
    /// </summary>
    public static bool IsAbsent(Exception e) => e switch
    {
        KubernetesApiException k => k.IsNotFound,
        TrafficRoutingException t => t.ErrorId is "ObjectNotFound" or "TrafficSplitMissingCanary" or "HttpRouteMissingCanaryBackend",
        KubesteadException k => k.ErrorId is "DeploymentNotFound",
        _ => false,
    };

    /// <summary>Deletes every object of the footprint's kinds that carries this rollout's created-by mark; returns what it deleted.</summary>
    public async Task<IReadOnlyList<string>> DeleteOwnedAsync(CancellationToken ct)
    {
        var deleted = new List<string>();
        foreach (var (type, obj) in await FindOwnedAsync(ct).ConfigureAwait(false))
        {
            var name = obj["metadata"]!["name"]!.GetValue<string>();
            try
            {
                await api.DeleteAsync(type, ns, name, new DeleteOptions(PreconditionUid: obj["metadata"]?["uid"]?.GetValue<string>()), ct).ConfigureAwait(false);
                deleted.Add($"deleted {type.Kind} {name}");
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
            }
        }
        return deleted;
    }

    /// <summary>What of this rollout is still in the cluster: objects it created, and route objects still marked as managed by it.</summary>
    public async Task<IReadOnlyList<string>> FindLeftoversAsync(CancellationToken ct)
    {
        var left = (await FindOwnedAsync(ct).ConfigureAwait(false))
            .Select(o => $"{o.Type.Kind} {o.Obj["metadata"]!["name"]!.GetValue<string>()} ({o.Type.ApiVersion}) in namespace {ns}").ToList();
        foreach (var type in footprint.OwnedKinds.Where(t => t.Group.Length > 0 && t.Group != "apps"))
        {
            foreach (var obj in await ListAsync(type, ct).ConfigureAwait(false))
            {
                var annotations = obj["metadata"]?["annotations"] as JsonObject;
                if (annotations?[Ownership.RolloutAnnotation]?.GetValue<string>() == rollout && !Ownership.CreatedBy(obj, rollout))
                    left.Add($"{type.Kind} {obj["metadata"]!["name"]!.GetValue<string>()} ({type.ApiVersion}) still carries Kubestead's changes for rollout {rollout}");
            }
        }
        return left;
    }

    private async Task<List<(ResourceType Type, JsonObject Obj)>> FindOwnedAsync(CancellationToken ct)
    {
        var found = new List<(ResourceType, JsonObject)>();
        foreach (var type in footprint.OwnedKinds)
            foreach (var obj in await ListAsync(type, ct).ConfigureAwait(false))
                if (Ownership.CreatedBy(obj, rollout))
                    found.Add((type, obj));
        return found;
    }

    /// <summary>Objects of one kind carrying Kubestead's managed-by label; none when the cluster does not serve the kind.</summary>
    private async Task<IReadOnlyList<JsonObject>> ListAsync(ResourceType type, CancellationToken ct)
    {
        try
        {
            return (await api.ListAsync(type, ns, new ListOptions($"{Ownership.ManagedByLabel}=kubestead"), ct).ConfigureAwait(false)).Items;
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return Array.Empty<JsonObject>();
        }
    }
}
