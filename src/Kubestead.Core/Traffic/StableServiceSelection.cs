using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// The stable backend Service must send its share to stable's pods only. A Service's selector is a set of equalities, so
/// an ordinary selector such as <c>app: checkout</c> also matches the pods Kubestead creates from stable's template (the
/// same labels with the version label changed): Linkerd, SMI and ingress-nginx would then spread the stable share over
/// canary and baseline pods too, and the canary would get far more than its weight, even after an abort.
/// </summary>
internal static class StableServiceSelection
{
    /// <summary>
    /// Throws naming <paramref name="stableField"/> when the stable Service selects none of stable's pods, or selects the pods
    /// whose labels are stable's with <paramref name="otherPodLabels"/> laid over them (the canary's or the baseline's).
    /// </summary>
    public static async Task CheckAsync(IKubernetesApi api, string ns, JsonObject stableService, string stableField, string stableDeployment,
        IReadOnlyDictionary<string, string> otherPodLabels, CancellationToken ct)
    {
        var serviceName = stableService["metadata"]?["name"]?.GetValue<string>() ?? "";
        var serviceRef = new ObjectReference(ResourceType.Service, ns, serviceName);
        var selector = (stableService["spec"]?["selector"] as JsonObject ?? new JsonObject())
            .ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>());
        var deployment = await ObjectLookup.RequireAsync(api, ResourceType.Deployment, ns, stableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        var stableLabels = (deployment["spec"]?["template"]?["metadata"]?["labels"] as JsonObject ?? new JsonObject())
            .ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>());
        var selectorText = string.Join(",", selector.Select(kv => $"{kv.Key}={kv.Value}"));

        if (!Matches(selector, stableLabels))
            throw new TrafficRoutingException("StableServiceSelectsNoStablePods",
                $"{stableField}: {serviceRef} selects none of Deployment {stableDeployment}'s pods (spec.selector {selectorText} does not match their labels " +
                $"{string.Join(",", stableLabels.Select(kv => $"{kv.Key}={kv.Value}"))}); the stable share would have no endpoint", serviceRef);

        var otherLabels = new Dictionary<string, string?>(stableLabels);
        foreach (var (k, v) in otherPodLabels) otherLabels[k] = v;
        if (!Matches(selector, otherLabels)) return;

        var told = string.Join(",", otherPodLabels.Select(kv => $"{kv.Key}={kv.Value}"));
        // The label that tells the versions apart: stable's own value of it, when stable's pods carry one, is the fix.
        var stableValues = otherPodLabels.Keys.Where(k => stableLabels.TryGetValue(k, out var v) && v != otherPodLabels[k])
            .Select(k => $"{k}={stableLabels[k]}").ToList();
        var fix = stableValues.Count > 0
            ? $"add {string.Join(",", stableValues)} to its spec.selector"
            : $"label stable's pods (e.g. {otherPodLabels.Keys.First()}: stable in Deployment {stableDeployment}'s pod template) and add that label to its spec.selector";
        throw new TrafficRoutingException("StableServiceSelectsOtherPods",
            $"{stableField}: {serviceRef} also selects the pods labelled {told} that this rollout runs (spec.selector {selectorText} matches Deployment " +
            $"{stableDeployment}'s pod labels with {told}), so the stable share would be spread over them; {fix}, or name a Service that selects only " +
            "stable's pods (spec.linkerd.stableService with meshProvider linkerd)", serviceRef);
    }

    private static bool Matches(IReadOnlyDictionary<string, string?> selector, IReadOnlyDictionary<string, string?> labels) =>
        selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
