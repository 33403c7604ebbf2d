using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// Issue #25 item 6: stable is the rollback target and the canary's control, so a stable below its own minimum
/// availability (fewer ready pods than <c>spec.replicas</c> minus <c>maxUnavailable</c>, as the Deployment controller
/// computes it) refuses <c>start</c>, naming the Deployment and its ready/desired counts.
/// </summary>
internal static class StableAvailability
{
    public static async Task<string> CheckAsync(IKubernetesApi api, string ns, string deployment, CancellationToken ct)
    {
        var d = await api.GetAsync(ResourceType.Deployment, ns, deployment, ct).ConfigureAwait(false);
        var target = new ObjectReference(ResourceType.Deployment, ns, deployment);
        var desired = d["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        // No status at all: no Deployment controller has looked at it yet, so there is nothing to judge from.
        if (d["status"]?["observedGeneration"] is null)
            return $"Deployment {deployment} has no status yet (no controller has observed it): its readiness was not checked";
        var ready = d["status"]?["readyReplicas"]?.GetValue<int>() ?? 0;
        var updated = d["status"]?["updatedReplicas"]?.GetValue<int>() ?? 0;
        // Pods still being created for its current template (a Deployment just applied, or mid-update): not degraded yet,
        // only not done; crashing pods of a settled template are counted as updated, and those are what this refuses.
        if (desired > 0 && updated < desired && ready < desired)
            return $"Deployment {deployment} is still rolling out ({updated} of {desired} pods updated, {ready} ready): its readiness was not judged";
        var minimum = desired - MaxUnavailable(d, desired);
        if (desired == 0)
            throw new KubesteadException("StableDegraded", KubesteadErrorKind.InvalidState,
                $"spec.stable.deployment: {target} has 0 replicas: there is no stable version to compare the canary with or to roll back to; scale it up first",
                target.ToString());
        if (ready < minimum)
            throw new KubesteadException("StableDegraded", KubesteadErrorKind.InvalidState,
                $"spec.stable.deployment: {target} has {ready} of {desired} pods ready (its minimum availability is {minimum}): a stable version that is down " +
                $"is neither a control for the canary nor a safe target for a rollback; fix it (kubectl rollout status deployment/{deployment} -n {ns}) and start again",
                target.ToString());
        return $"Deployment {deployment} has {ready} of {desired} pods ready (minimum availability {minimum})";
    }

    /// <summary>spec.strategy.rollingUpdate.maxUnavailable resolved as the controller does: a percentage rounds down; 25% by default; none for Recreate.</summary>
    private static int MaxUnavailable(JsonObject d, int desired)
    {
        if (d["spec"]?["strategy"]?["type"]?.GetValue<string>() == "Recreate") return 0;
        var value = d["spec"]?["strategy"]?["rollingUpdate"]?["maxUnavailable"];
        if (value is JsonValue v && v.TryGetValue<int>(out var count)) return Math.Clamp(count, 0, desired);
        var text = value?.GetValue<string>() ?? "25%";
        if (text.EndsWith('%') && int.TryParse(text[..^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var percent))
            return Math.Clamp(desired * percent / 100, 0, desired);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? Math.Clamp(n, 0, desired) : 0;
    }
}
