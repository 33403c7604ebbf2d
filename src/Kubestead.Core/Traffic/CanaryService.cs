using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// The separate canary Service that Linkerd (HTTPRoute, SMI) routes to: the stable backend Service's ports, selector narrowed to the
/// canary pods. Created at start when absent and deleted at the end only if Kubestead created it. The same class serves a
/// created baseline's Service (its pods told apart by the baseline's version label).
/// </summary>
/// <param name="stableDeployment">
/// Stable's Deployment: its pod labels, with <paramref name="canaryPodLabels"/> laid over them, are the labels of the pods this
/// Service is for, which the stable Service must not select (null: not checked).
/// </param>
internal sealed class CanaryService(IKubernetesApi api, string ns, string rollout, string stableService, string canaryService,
    IReadOnlyDictionary<string, string> canaryPodLabels, string stableField = "spec.service", string? stableDeployment = null)
{
    private ObjectReference Ref(string name) => new(ResourceType.Service, ns, name);

    public async Task<JsonObject> GetStableAsync(CancellationToken ct)
    {
        JsonObject svc;
        try
        {
            svc = await api.GetAsync(ResourceType.Service, ns, stableService, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw new TrafficRoutingException("ObjectNotFound", $"{stableField}: {Ref(stableService)} does not exist", Ref(stableService));
        }
        if (svc["spec"]?["selector"] is not JsonObject { Count: > 0 })
            throw new TrafficRoutingException("ServiceWithoutSelector", $"{Ref(stableService)}: spec.selector is empty; Kubestead derives the canary Service's selector from it", Ref(stableService));
        return svc;
    }

    /// <summary>The canary Service as Kubestead would create it.</summary>
    public async Task<JsonObject> BuildAsync(CancellationToken ct)
    {
        var stable = await GetStableAsync(ct).ConfigureAwait(false);
        var selector = stable["spec"]!["selector"]!.DeepClone().AsObject();
        foreach (var (k, v) in canaryPodLabels) selector[k] = v;
        var ports = new JsonArray((stable["spec"]?["ports"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().Select(p =>
        {
            var copy = new JsonObject();
            foreach (var key in new[] { "name", "port", "targetPort", "protocol", "appProtocol" })
                if (p[key] is { } v) copy[key] = v.DeepClone();
            return (JsonNode?)copy;
        }).ToArray());
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = Ownership.Metadata(canaryService, ns, rollout),
            ["spec"] = new JsonObject { ["selector"] = selector, ["ports"] = ports },
        };
    }

    /// <summary>Validates an existing canary Service: it must select the canary pods.</summary>
    public async Task ValidateAsync(CancellationToken ct)
    {
        await GetStableAsync(ct).ConfigureAwait(false);
        JsonObject existing;
        try
        {
            existing = await api.GetAsync(ResourceType.Service, ns, canaryService, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return;
        }
        if (Ownership.CreatedBy(existing, rollout)) return;
        var selector = existing["spec"]?["selector"] as JsonObject;
        var wrong = canaryPodLabels.Where(kv => selector?[kv.Key]?.GetValue<string>() != kv.Value).Select(kv => $"{kv.Key}={kv.Value}").ToList();
        if (selector is null || selector.Count == 0 || wrong.Count > 0)
            throw new TrafficRoutingException("CanaryServiceSelectsWrongPods",
                $"{Ref(canaryService)}: spec.selector must select only the canary pods (missing {string.Join(", ", wrong)}); fix it or let Kubestead create the canary Service under another name",
                Ref(canaryService));
    }

    /// <summary>
    /// Checks that the stable Service selects stable's pods and none of the pods this Service is for. Routers call it after
    /// their own checks, so a stable Service that is simply the wrong one is reported by the check that names the route.
    /// </summary>
    public async Task ValidateStableSelectionAsync(CancellationToken ct)
    {
        if (stableDeployment is null) return;
        var stable = await GetStableAsync(ct).ConfigureAwait(false);
        await StableServiceSelection.CheckAsync(api, ns, stable, stableField, stableDeployment, canaryPodLabels, ct).ConfigureAwait(false);
    }

    public async Task EnsureAsync(CancellationToken ct)
    {
        var desired = await BuildAsync(ct).ConfigureAwait(false);
        try
        {
            await api.CreateAsync(ResourceType.Service, ns, desired, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
        }
    }

    public async Task DeleteIfCreatedAsync(CancellationToken ct)
    {
        try
        {
            var existing = await api.GetAsync(ResourceType.Service, ns, canaryService, ct).ConfigureAwait(false);
            if (!Ownership.CreatedBy(existing, rollout)) return;
            await api.DeleteAsync(ResourceType.Service, ns, canaryService,
                new DeleteOptions(PreconditionUid: existing["metadata"]?["uid"]?.GetValue<string>()), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }
}
