using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Sandbox.Simulation;

/// <summary>How requests reach the versions at one moment, read from the live route objects.</summary>
/// <param name="BaselineShare">The share a created baseline (stable's version) gets; 0 without one.</param>
/// <param name="BaselineReadyPods">Without a mesh: the created baseline's ready pods behind the Service.</param>
public sealed record RouteState(double CanaryShare, int StableReadyPods, int CanaryReadyPods, double BaselineShare = 0, int BaselineReadyPods = 0);

/// <summary>
/// Computes the canary's share of plain traffic (requests without the canary header) from the objects a mesh reads:
/// the weighted route of a VirtualService, the backendRefs of an HTTPRoute rule without matches, the backends of an SMI
/// TrafficSplit, the weight of an ingress-nginx canary Ingress. Header routes send nothing here because simulated clients
/// send no canary header (or cookie).
/// </summary>
public static class RouteShareReader
{
    /// <summary>Istio: the first HTTP route without a header match; weights by destination (subset or host).</summary>
    public static double FromVirtualService(JsonObject vs, Func<JsonObject, bool> isCanaryDestination)
    {
        var dests = DestinationsOfVirtualService(vs);
        var total = dests.Sum(d => d.Weight);
        return total <= 0 ? 0 : dests.Where(d => isCanaryDestination(d.Destination)).Sum(d => d.Weight) / total;
    }

    /// <summary>Istio: the destinations and weights of the first HTTP route without a header match (empty without one).</summary>
    public static IReadOnlyList<(JsonObject Destination, double Weight)> DestinationsOfVirtualService(JsonObject vs)
    {
        var routes = vs["spec"]?["http"] as JsonArray ?? new JsonArray();
        foreach (var route in routes.OfType<JsonObject>())
        {
            if (HasHeaderMatch(route["match"] as JsonArray)) continue;
            var dests = route["route"] as JsonArray ?? new JsonArray();
            // Istio: a single destination without weight takes 100%.
            return dests.OfType<JsonObject>()
                .Select(d => (d["destination"] as JsonObject ?? new JsonObject(), d["weight"] is { } wn ? wn.GetValue<double>() : dests.Count == 1 ? 100.0 : 0))
                .ToList();
        }
        return [];
    }

    /// <summary>Gateway API / Linkerd HTTPRoute: the first rule without header matches; relative backendRef weights (default 1).</summary>
    public static double FromHttpRoute(JsonObject route, string canaryService) => SharesFromHttpRoute(route, canaryService, null).Canary;

    /// <summary>The canary's and the baseline's shares of the first rule without header matches (three backends with a created baseline).</summary>
    public static (double Canary, double Baseline) SharesFromHttpRoute(JsonObject route, string canaryService, string? baselineService)
    {
        var refs = BackendsOfHttpRoute(route);
        var total = refs.Sum(b => b.Weight);
        double Share(string? name) => total <= 0 || name is null ? 0 : refs.Where(b => b.Service == name).Sum(b => b.Weight) / total;
        return (Share(canaryService), Share(baselineService));
    }

    /// <summary>The backendRefs of the first rule without header matches, weights defaulting to 1 (empty without such a rule).</summary>
    public static IReadOnlyList<WeightedBackend> BackendsOfHttpRoute(JsonObject route)
    {
        var rules = route["spec"]?["rules"] as JsonArray ?? new JsonArray();
        foreach (var rule in rules.OfType<JsonObject>())
        {
            var matches = rule["matches"] as JsonArray;
            if (matches is not null && matches.OfType<JsonObject>().Any(m => m["headers"] is JsonArray { Count: > 0 })) continue;
            return (rule["backendRefs"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
                .Select(b => new WeightedBackend(b["name"]?.GetValue<string>() ?? "", b["weight"] is { } wn ? wn.GetValue<double>() : 1))
                .ToList();
        }
        return [];
    }

    /// <summary>SMI TrafficSplit: backends by Service; v1alpha1 weights are quantities such as "500m".</summary>
    public static double FromTrafficSplit(JsonObject split, string canaryService)
    {
        var backends = BackendsOfTrafficSplit(split);
        var total = backends.Sum(b => b.Weight);
        return total <= 0 ? 0 : backends.Where(b => b.Service == canaryService).Sum(b => b.Weight) / total;
    }

    /// <summary>SMI TrafficSplit: its backends and their weights.</summary>
    public static IReadOnlyList<WeightedBackend> BackendsOfTrafficSplit(JsonObject split) =>
        (split["spec"]?["backends"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(b => new WeightedBackend(b["service"]?.GetValue<string>() ?? "", ParseQuantity(b["weight"])))
            .ToList();

    /// <summary>
    /// ingress-nginx: the canary Ingress's canary-weight out of canary-weight-total (default 100); an Ingress not marked
    /// canary, or none at all, sends nothing to the canary. A weight above the total counts as the total.
    /// </summary>
    public static double FromCanaryIngress(JsonObject? canaryIngress)
    {
        var annotations = canaryIngress?["metadata"]?["annotations"] as JsonObject;
        if (annotations?["nginx.ingress.kubernetes.io/canary"]?.GetValue<string>() is not { } flag || !flag.Equals("true", StringComparison.OrdinalIgnoreCase)) return 0;
        static double Parse(JsonNode? n, double fallback) =>
            n is not null && double.TryParse(n.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        var total = Parse(annotations["nginx.ingress.kubernetes.io/canary-weight-total"], 100);
        var weight = Parse(annotations["nginx.ingress.kubernetes.io/canary-weight"], 0);
        return total <= 0 ? 0 : Math.Clamp(weight, 0, total) / total;
    }

    /// <summary>Linkerd 1.x: the share namerd's dtab gives the canary Service for <paramref name="name"/> (e.g. /svc/shop).</summary>
    public static double FromDtab(string dtab, string name, string ns, string canaryService, Func<string, bool> serviceExists) =>
        DtabRouteResolver.Resolve(Kubestead.Traffic.Dtabs.DtabDocument.Parse(dtab), name, ns, serviceExists) is { } shares
            ? shares.GetValueOrDefault(canaryService)
            : 0;

    /// <summary>No mesh: a Service spreads connections over ready pods.</summary>
    public static double FromReadyPods(int stableReady, int canaryReady) =>
        stableReady + canaryReady == 0 ? 0 : (double)canaryReady / (stableReady + canaryReady);

    public static int ReadyReplicas(JsonObject? deployment) =>
        deployment?["status"]?["readyReplicas"]?.GetValue<int>() ?? 0;

    internal static double ParseQuantity(JsonNode? node)
    {
        if (node is null) return 0;
        if (node is JsonValue v && v.TryGetValue<double>(out var d)) return d;
        var s = node.ToString().Trim();
        if (s.EndsWith('m')) return double.Parse(s[..^1], CultureInfo.InvariantCulture) / 1000.0;
        return double.Parse(s, CultureInfo.InvariantCulture);
    }

    private static bool HasHeaderMatch(JsonArray? matches) =>
        matches is not null && matches.OfType<JsonObject>().Any(m => m["headers"] is JsonObject { Count: > 0 });
}
