using System.Text.Json.Nodes;

namespace Kubestead.Traffic;

/// <summary>
/// Recognises a TrafficSplit another progressive-delivery controller owns (Flagger's apex/primary/canary split, Argo
/// Rollouts' root/stable/canary split, by their owner references) and says how to move the service to Kubestead:
/// while that controller lives it rewrites the split on every reconcile, so adopting it in place would be a tug of war.
/// </summary>
public static class SmiSplitAdoption
{
    /// <summary>The advice to append to a refusal of <paramref name="split"/>, or "" when no known controller owns it.</summary>
    public static string Advice(JsonObject split)
    {
        var owner = (split["metadata"]?["ownerReferences"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(o => (ApiVersion: o["apiVersion"]?.GetValue<string>() ?? "", Kind: o["kind"]?.GetValue<string>() ?? "", Name: o["name"]?.GetValue<string>() ?? ""))
            .FirstOrDefault(o => o.ApiVersion.StartsWith("flagger.app/", StringComparison.Ordinal) || o.ApiVersion.StartsWith("argoproj.io/", StringComparison.Ordinal));
        var root = split["spec"]?["service"]?.GetValue<string>() ?? "?";
        var backends = string.Join(", ", (split["spec"]?["backends"] as JsonArray ?? new JsonArray()).Select(b => b?["service"]?.GetValue<string>()));
        if (owner.ApiVersion.StartsWith("flagger.app/", StringComparison.Ordinal))
            return $". This split belongs to Flagger's {owner.Kind} '{owner.Name}' (apex '{root}', backends {backends}), which rewrites it on every analysis run. " +
                $"To move '{root}' to Kubestead: set spec.revertOnDeletion: true on that Canary and delete it (Flagger points '{root}' back at the original " +
                $"Deployment and removes the split), then start with spec.service: {root} and spec.stable.deployment naming that Deployment";
        if (owner.ApiVersion.StartsWith("argoproj.io/", StringComparison.Ordinal))
            return $". This split belongs to Argo Rollouts' {owner.Kind} '{owner.Name}' (root Service '{root}', backends {backends}), which rewrites it at every step. " +
                $"To move it to Kubestead: scale a Deployment up from the Rollout's template (Argo's workloadRef migration), delete the Rollout (Argo " +
                $"removes the split it made), then start with spec.service naming the Service your clients call ('{root}'); " +
                $"Kubestead creates its own split there, or give spec.smi.trafficSplit another name while the old one is in use";
        return "";
    }
}
