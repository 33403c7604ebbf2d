using System.Text.Json.Nodes;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// A strategic-merge patch of a pod template, applied as kube-apiserver applies one to a Deployment's
/// <c>spec.template</c>: maps merge key by key (null removes a key), lists with a Kubernetes merge key
/// (<c>containers</c>, <c>initContainers</c>, <c>env</c>, <c>volumes</c> by <c>name</c>; container <c>ports</c> by
/// <c>containerPort</c>; <c>volumeMounts</c> by <c>mountPath</c>) merge item by item and append new items, every other
/// list is replaced. Directives: <c>$patch: delete</c> (a list item, or a map), <c>$patch: replace</c> (a map, or a list
/// item that makes the list the patch's), <c>$retainKeys</c>, <c>$deleteFromPrimitiveList/&lt;field&gt;</c>;
/// <c>$setElementOrder/&lt;field&gt;</c> is accepted and ignored.
/// </summary>
public static class PodTemplatePatch
{
    /// <summary>The merge key of each pod-template list field that has one (from the Kubernetes API's patchMergeKey tags).</summary>
    public static readonly IReadOnlyDictionary<string, string> MergeKeys = new Dictionary<string, string>
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["volumes"] = "name",
        ["env"] = "name",
        ["imagePullSecrets"] = "name",
        ["resourceClaims"] = "name",
        ["schedulingGates"] = "name",
        ["ports"] = "containerPort",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["hostAliases"] = "ip",
        ["topologySpreadConstraints"] = "topologyKey",
    };

    private const string Directive = "$patch";

    /// <summary>The patched copy of <paramref name="original"/>; neither argument is changed.</summary>
    public static JsonObject Apply(JsonObject original, JsonObject patch) =>
        MergeMap(original.DeepClone().AsObject(), patch) ?? new JsonObject();

    /// <returns>The merged map, or null when the patch deletes it.</returns>
    private static JsonObject? MergeMap(JsonObject target, JsonObject patch)
    {
        switch (patch[Directive]?.GetValue<string>())
        {
            case "delete":
                return null;
            case "replace":
                var replacement = patch.DeepClone().AsObject();
                replacement.Remove(Directive);
                return replacement;
        }
        foreach (var (key, value) in patch)
        {
            if (key == Directive || key.StartsWith("$setElementOrder/", StringComparison.Ordinal)) continue;
            if (key == "$retainKeys")
            {
                var keep = (value as JsonArray)?.Select(k => k?.GetValue<string>()).ToHashSet() ?? [];
                foreach (var drop in target.Select(p => p.Key).Where(k => !keep.Contains(k)).ToList()) target.Remove(drop);
                continue;
            }
            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (target[field] is JsonArray list && value is JsonArray remove)
                    foreach (var item in list.Where(i => remove.Any(r => JsonNode.DeepEquals(r, i))).ToList()) list.Remove(item);
                continue;
            }
            if (value is null)
            {
                target.Remove(key);
                continue;
            }
            var current = target[key];
            switch (value)
            {
                case JsonObject patchMap when current is JsonObject currentMap:
                    var merged = MergeMap(currentMap, patchMap);
                    if (merged is null) target.Remove(key);
                    else if (!ReferenceEquals(merged, currentMap)) target[key] = merged;
                    break;
                case JsonObject patchMap:
                    if (patchMap[Directive]?.GetValue<string>() == "delete") target.Remove(key);
                    else target[key] = MergeMap(new JsonObject(), patchMap);
                    break;
                case JsonArray patchList when MergeKeys.TryGetValue(key, out var mergeKey):
                    target[key] = MergeList(current as JsonArray ?? [], patchList, mergeKey);
                    break;
                default:
                    target[key] = value.DeepClone();
                    break;
            }
        }
        return target;
    }

    private static JsonArray MergeList(JsonArray original, JsonArray patch, string mergeKey)
    {
        if (patch.Any(i => i is JsonObject o && o[Directive]?.GetValue<string>() == "replace"))
            return new JsonArray(patch.Where(i => !(i is JsonObject o && o[Directive]?.GetValue<string>() == "replace")).Select(i => i?.DeepClone()).ToArray());
        var result = new JsonArray(original.Select(i => i?.DeepClone()).ToArray());
        foreach (var item in patch)
        {
            if (item is not JsonObject patchItem || patchItem[mergeKey] is not JsonValue keyValue)
            {
                result.Add(item?.DeepClone());
                continue;
            }
            var index = IndexOf(result, mergeKey, keyValue);
            if (patchItem[Directive]?.GetValue<string>() == "delete")
            {
                if (index >= 0) result.RemoveAt(index);
                continue;
            }
            if (index < 0)
            {
                var added = MergeMap(new JsonObject(), patchItem);
                if (added is not null) result.Add((JsonNode)added);
                continue;
            }
            var merged = MergeMap(result[index]!.AsObject(), patchItem);
            if (merged is null) result.RemoveAt(index);
            else if (!ReferenceEquals(merged, result[index])) result[index] = merged;
        }
        return result;
    }

    internal static int IndexOf(JsonArray list, string mergeKey, JsonNode keyValue)
    {
        for (var i = 0; i < list.Count; i++)
            if (list[i] is JsonObject o && JsonNode.DeepEquals(o[mergeKey], keyValue)) return i;
        return -1;
    }
}
