using System.Text.Json.Nodes;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// Names what changed between two pod templates in the words a person used to make the change
/// (<c>container app image</c>, <c>container app env FEATURE_X</c>), so a Drift message says which edit would be lost.
/// Containers and env entries are matched by name, not by position, because kubectl set image/env edits them by name.
/// </summary>
public static class PodTemplateDiff
{
    public static IReadOnlyList<string> Describe(JsonNode? before, JsonNode? after)
    {
        var changes = new List<string>();
        Walk("", before, after, changes);
        return changes;
    }

    private static void Walk(string path, JsonNode? before, JsonNode? after, List<string> changes)
    {
        if (JsonNode.DeepEquals(before, after)) return;
        if (before is JsonObject bo && after is JsonObject ao)
        {
            foreach (var key in bo.Select(p => p.Key).Union(ao.Select(p => p.Key)).Distinct())
                Walk(Join(path, key), bo[key], ao[key], changes);
            return;
        }
        if (before is JsonArray ba && after is JsonArray aa && IsNamed(ba) && IsNamed(aa))
        {
            var names = ba.Select(NameOf).Concat(aa.Select(NameOf)).Distinct().ToList();
            foreach (var name in names)
                Walk($"{path}[{name}]", ba.FirstOrDefault(x => NameOf(x) == name), aa.FirstOrDefault(x => NameOf(x) == name), changes);
            return;
        }
        changes.Add(before is null ? $"{path} added ({Short(after)})"
            : after is null ? $"{path} removed (was {Short(before)})"
            : $"{path}: {Short(before)} -> {Short(after)}");
    }

    private static bool IsNamed(JsonArray a) => a.Count > 0 && a.All(x => x is JsonObject o && o["name"] is JsonValue);

    private static string? NameOf(JsonNode? n) => n?["name"]?.ToString();

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string Short(JsonNode? n)
    {
        var text = n is JsonValue v ? v.ToString() : n?.ToJsonString() ?? "null";
        return text.Length > 80 ? text[..77] + "..." : text;
    }
}
