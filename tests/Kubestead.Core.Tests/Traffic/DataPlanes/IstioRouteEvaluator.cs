using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Core.Tests.Traffic.DataPlanes;

/// <summary>The HTTP route of a VirtualService a request lands on, and how its destinations share it.</summary>
public sealed record IstioDecision(int Index, JsonObject Route)
{
    /// <summary>Each destination's share ("host/subset"); one destination without a weight takes everything.</summary>
    public double ShareOf(string destination)
    {
        var dests = Route["route"]!.AsArray().OfType<JsonObject>().ToList();
        double W(JsonObject d) => d["weight"]?.GetValue<double>() ?? (dests.Count == 1 ? 100 : 0);
        var total = dests.Sum(W);
        return total == 0 ? 0 : dests.Where(d => Name(d) == destination).Sum(W) / total;
    }

    private static string Name(JsonObject d) => d["destination"]!["subset"] is { } s ? $"{d["destination"]!["host"]}/{s}" : d["destination"]!["host"]!.GetValue<string>();
}

/// <summary>
/// Istio's documented rule for VirtualService HTTP routes: the first route (in order) with a match that holds takes the
/// request; a route without match takes everything; conditions within one match all hold (uri, method, headers,
/// queryParams: exact, prefix or a full-match regex). Null is no route (a 404).
/// </summary>
public static class IstioRouteEvaluator
{
    public static IstioDecision? Route(JsonObject virtualService, HttpRequest request)
    {
        var routes = (virtualService["spec"]?["http"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        for (var i = 0; i < routes.Count; i++)
        {
            var matches = routes[i]["match"] is JsonArray { Count: > 0 } ms ? ms.OfType<JsonObject>().ToList() : [new JsonObject()];
            if (matches.Any(m => Holds(m, request))) return new IstioDecision(i, routes[i]);
        }
        return null;
    }

    private static bool Holds(JsonObject match, HttpRequest request)
    {
        if (match["uri"] is JsonObject uri && !StringMatch(uri, request.Path)) return false;
        if (match["method"] is JsonObject method && !StringMatch(method, request.Method)) return false;
        foreach (var (name, condition) in match["headers"] as JsonObject ?? new JsonObject())
        {
            var sent = request.Headers?.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            if (sent is null || !StringMatch(condition!.AsObject(), sent)) return false;
        }
        foreach (var (name, condition) in match["queryParams"] as JsonObject ?? new JsonObject())
            if (request.Query?.GetValueOrDefault(name) is not { } q || !StringMatch(condition!.AsObject(), q)) return false;
        return true;
    }

    private static bool StringMatch(JsonObject condition, string value) =>
        condition["exact"] is { } e ? value == e.GetValue<string>()
        : condition["prefix"] is { } p ? value.StartsWith(p.GetValue<string>(), StringComparison.Ordinal)
        : condition["regex"] is { } r && Regex.IsMatch(value, "^(?:" + r.GetValue<string>() + ")$");
}
