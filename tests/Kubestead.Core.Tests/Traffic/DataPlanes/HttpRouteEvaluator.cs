using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Core.Tests.Traffic.DataPlanes;

/// <summary>One HTTP request as a Gateway API implementation matches it.</summary>
public sealed record HttpRequest(string Path, string Method = "GET", IReadOnlyDictionary<string, string>? Headers = null, IReadOnlyDictionary<string, string>? Query = null)
{
    public HttpRequest With(string header, string value)
    {
        var headers = new Dictionary<string, string>(Headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase) { [header] = value };
        return this with { Headers = headers };
    }
}

/// <summary>The rule a request lands on: its route, its index, and the rule itself (filters, timeouts, backendRefs).</summary>
public sealed record HttpRouteDecision(JsonObject Route, int RuleIndex, JsonObject Rule)
{
    /// <summary>Each backendRef's share of the requests this rule takes (weight absent means 1).</summary>
    public IReadOnlyDictionary<string, double> Shares()
    {
        var refs = (Rule["backendRefs"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(b => (Name: b["name"]!.GetValue<string>(), Weight: b["weight"]?.GetValue<double>() ?? 1)).ToList();
        var total = refs.Sum(r => r.Weight);
        return refs.GroupBy(r => r.Name).ToDictionary(g => g.Key, g => total == 0 ? 0 : g.Sum(r => r.Weight) / total);
    }

    public double ShareOf(string backend) => Shares().GetValueOrDefault(backend);
}

/// <summary>
/// Which HTTPRoute rule takes a request, written from the Gateway API's documented HTTPRouteRule match precedence: an
/// Exact path beats a prefix, then the longest prefix, then a method match, then the most header matches, then the most
/// query matches, then the oldest route (then namespace/name), then the first matching rule in list order. A rule with no
/// matches matches everything (a PathPrefix "/"). Null means no rule matched (a 404).
/// </summary>
public static class HttpRouteEvaluator
{
    public static HttpRouteDecision? Route(HttpRequest request, params JsonObject[] routes)
    {
        var candidates = new List<(HttpRouteDecision Decision, JsonObject Match, int RouteOrder)>();
        var ordered = routes.Select((r, i) => (Route: r, Index: i))
            .OrderBy(r => r.Route["metadata"]?["creationTimestamp"]?.GetValue<string>() ?? "")
            .ThenBy(r => $"{r.Route["metadata"]?["namespace"]}/{r.Route["metadata"]?["name"]}", StringComparer.Ordinal).ToList();
        for (var order = 0; order < ordered.Count; order++)
        {
            var rules = (ordered[order].Route["spec"]?["rules"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
            for (var i = 0; i < rules.Count; i++)
            {
                var matches = rules[i]["matches"] is JsonArray { Count: > 0 } ms ? ms.OfType<JsonObject>().ToList() : [new JsonObject()];
                foreach (var m in matches.Where(m => Matches(m, request)))
                    candidates.Add((new HttpRouteDecision(ordered[order].Route, i, rules[i]), m, order));
            }
        }
        return candidates
            .OrderByDescending(c => PathType(c.Match) == "Exact")
            .ThenByDescending(c => PathType(c.Match) == "PathPrefix" ? PathValue(c.Match).Length : -1)
            .ThenByDescending(c => c.Match["method"] is not null)
            .ThenByDescending(c => (c.Match["headers"] as JsonArray)?.Count ?? 0)
            .ThenByDescending(c => (c.Match["queryParams"] as JsonArray)?.Count ?? 0)
            .ThenBy(c => c.RouteOrder)
            .ThenBy(c => c.Decision.RuleIndex)
            .Select(c => c.Decision).FirstOrDefault();
    }

    private static string PathType(JsonObject match) => match["path"]?["type"]?.GetValue<string>() ?? "PathPrefix";

    private static string PathValue(JsonObject match) => match["path"]?["value"]?.GetValue<string>() ?? "/";

    private static bool Matches(JsonObject match, HttpRequest request)
    {
        var value = PathValue(match);
        var pathOk = PathType(match) switch
        {
            "Exact" => request.Path == value,
            "RegularExpression" => Regex.IsMatch(request.Path, "^(?:" + value + ")$"),
            // Element-wise: /checkout matches /checkout and /checkout/cart, never /checkouts.
            _ => value.TrimEnd('/').Length == 0 || request.Path == value.TrimEnd('/') || request.Path.StartsWith(value.TrimEnd('/') + "/", StringComparison.Ordinal),
        };
        if (!pathOk) return false;
        if (match["method"]?.GetValue<string>() is { } method && method != request.Method) return false;
        foreach (var h in (match["headers"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var name = h["name"]!.GetValue<string>();
            var sent = request.Headers?.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            if (sent is null) return false;
            var expected = h["value"]!.GetValue<string>();
            var ok = (h["type"]?.GetValue<string>() ?? "Exact") == "RegularExpression" ? Regex.IsMatch(sent, expected) : sent == expected;
            if (!ok) return false;
        }
        foreach (var q in (match["queryParams"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            if (request.Query?.GetValueOrDefault(q["name"]!.GetValue<string>()) != q["value"]!.GetValue<string>()) return false;
        return true;
    }
}
