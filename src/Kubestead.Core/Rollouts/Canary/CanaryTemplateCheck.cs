using System.Text.Json.Nodes;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// Checks a canary's template change against stable's Deployment before anything is written, naming the spec field
/// at fault: a patch must name containers stable has and keep the labels stable's selector needs; a manifest must
/// select the same pods as stable and must not give the version label a third value.
/// </summary>
public static class CanaryTemplateCheck
{
    public static IReadOnlyList<string> Problems(JsonObject stable, CanarySource canary, string versionLabel)
    {
        var problems = new List<string>();
        var stableName = stable["metadata"]?["name"]?.ToString() ?? "(stable)";
        var selector = SelectorLabels(stable, versionLabel);
        if (canary.TemplatePatch is { } patch)
        {
            const string p = "spec.canary.templatePatch";
            foreach (var list in new[] { "containers", "initContainers" })
            {
                if (patch["spec"]?[list] is not JsonArray items) continue;
                var have = (stable["spec"]?["template"]?["spec"]?[list] as JsonArray ?? []).Select(c => c?["name"]?.ToString()).ToList();
                foreach (var item in items.OfType<JsonObject>())
                {
                    if (item["name"]?.ToString() is not { } name || have.Contains(name)) continue;
                    var kind = list == "containers" ? "container" : "init container";
                    problems.Add($"{p}.spec.{list}[name={name}]: Deployment {stableName} has no {kind} '{name}' " +
                                 $"(it has: {(have.Count == 0 ? "none" : string.Join(", ", have))}); a patch changes stable's {list} by name. " +
                                 "To run other containers, give the whole Deployment in spec.canary.manifest");
                }
            }
            if (patch["metadata"]?["labels"] is JsonObject labels)
                foreach (var (key, value) in selector)
                    if (labels.ContainsKey(key) && labels[key]?.ToString() != value)
                        problems.Add($"{p}.metadata.labels.{key}: {(labels[key] is null ? "removed" : $"'{labels[key]}'")}, but Deployment {stableName}'s selector needs {key}={value} " +
                                     "on the canary's pods too (the Service and the canary's own selector select them by it)");
        }
        if (canary.Manifest is { } manifest)
        {
            const string p = "spec.canary.manifest";
            if (manifest["spec"]?["selector"]?["matchLabels"] is JsonObject matchLabels)
            {
                var theirs = matchLabels.Where(kv => kv.Key != versionLabel).ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "");
                if (theirs.Count != selector.Count || theirs.Any(kv => !selector.TryGetValue(kv.Key, out var v) || v != kv.Value))
                    problems.Add($"{p}.spec.selector.matchLabels: selects {Format(theirs)}, other pods than Deployment {stableName} ({Format(selector)}); " +
                                 "the canary must be the same application: use stable's selector (the version label is Kubestead's)");
            }
            if (manifest["spec"]?["selector"]?["matchExpressions"] is JsonArray { Count: > 0 }
                && !JsonNode.DeepEquals(manifest["spec"]!["selector"]!["matchExpressions"], stable["spec"]?["selector"]?["matchExpressions"]))
                problems.Add($"{p}.spec.selector.matchExpressions: differ from Deployment {stableName}'s; the canary must select the same application's pods");
            var podLabels = manifest["spec"]?["template"]?["metadata"]?["labels"] as JsonObject;
            foreach (var (key, value) in selector)
                if (podLabels?[key]?.ToString() != value)
                    problems.Add($"{p}.spec.template.metadata.labels.{key}: {(podLabels?[key] is { } v ? $"'{v}'" : "missing")}, but Deployment {stableName}'s selector needs {key}={value}");
            var stableVersion = stable["spec"]?["template"]?["metadata"]?["labels"]?[versionLabel]?.ToString();
            if (podLabels?[versionLabel]?.ToString() is { } version && version != "canary" && version != stableVersion)
                problems.Add($"{p}.spec.template.metadata.labels.{versionLabel}: '{version}' conflicts with the version label, which is Kubestead's " +
                             $"({versionLabel}=canary on the canary's pods{(stableVersion is null ? "" : $", {stableVersion} on stable's")}); remove it");
        }
        if (canary.Container is { } container)
        {
            var source = canary.Manifest?["spec"]?["template"] ?? stable["spec"]?["template"];
            var containers = source?["spec"]?["containers"] as JsonArray ?? [];
            if (!containers.Any(c => c?["name"]?.ToString() == container))
                problems.Add($"spec.canary.container: {(canary.Manifest is null ? $"Deployment {stableName}" : "the manifest's template")} has no container '{container}' " +
                             $"(it has: {string.Join(", ", containers.Select(c => c?["name"]?.ToString()))})");
        }
        return problems;
    }

    /// <summary>Stable's selector labels other than the version label: the labels every pod of the application carries.</summary>
    private static Dictionary<string, string> SelectorLabels(JsonObject stable, string versionLabel) =>
        (stable["spec"]?["selector"]?["matchLabels"] as JsonObject ?? [])
        .Where(kv => kv.Key != versionLabel && kv.Value is not null)
        .ToDictionary(kv => kv.Key, kv => kv.Value!.ToString());

    private static string Format(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? "no labels" : string.Join(", ", labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
}
