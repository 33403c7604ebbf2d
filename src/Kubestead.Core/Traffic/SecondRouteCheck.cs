using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// Without <c>spec.linkerd.httpRoute</c> Kubestead creates its own HTTPRoute on the Service. When another HTTPRoute already
/// attaches to the same Service port, the two rules tie and Gateway API gives the request to the oldest route, which is
/// the user's: Kubestead's weights would change nothing while status reported them. Refused, naming the route, so the
/// user points Kubestead at it instead.
/// </summary>
internal static class SecondRouteCheck
{
    /// <param name="routeTypes">The HTTPRoute kinds the mesh reads (Linkerd reads Gateway API's and its own).</param>
    /// <param name="ownRoute">The route Kubestead creates (a leftover of this rollout is not a second route).</param>
    public static async Task CheckAsync(IKubernetesApi api, string ns, string rollout, IEnumerable<ResourceType> routeTypes, string ownRoute,
        string parentService, int? parentPort, CancellationToken ct)
    {
        foreach (var type in routeTypes)
        {
            ObjectList routes;
            try
            {
                routes = await api.ListAsync(type, ns, null, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
                continue; // that API is not served, so no route of that kind can exist
            }
            foreach (var route in routes.Items)
            {
                var name = route["metadata"]?["name"]?.GetValue<string>() ?? "";
                if (name == ownRoute && Ownership.CreatedBy(route, rollout)) continue;
                var attached = (route["spec"]?["parentRefs"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().FirstOrDefault(p =>
                    p["kind"]?.GetValue<string>() == "Service" && p["group"]?.GetValue<string>() is null or "" or "core"
                    && p["name"]?.GetValue<string>() == parentService && (p["namespace"]?.GetValue<string>() ?? ns) == ns
                    && (parentPort is null || p["port"] is null || p["port"]!.GetValue<int>() == parentPort));
                if (attached is null) continue;
                var other = new ObjectReference(type, ns, name);
                throw new TrafficRoutingException("SecondHttpRoute",
                    $"spec.linkerd.httpRoute: {other} already attaches to Service {parentService}" + (attached["port"] is { } p ? $" port {p}" : "") +
                    "; a second HTTPRoute on the same parent would tie with it and Gateway API gives the traffic to the older one, so the weights Kubestead " +
                    $"writes would have no effect; set spec.linkerd.httpRoute: {name} so Kubestead manages that route's weights", other);
            }
        }
    }
}
