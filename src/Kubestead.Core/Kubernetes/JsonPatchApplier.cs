using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>RFC 6902 application with RFC 6901 pointers. All-or-nothing: works on a deep copy.</summary>
internal static class JsonPatchApplier
{
    public static JsonNode Apply(JsonNode document, IEnumerable<JsonPatchOperation> operations)
    {
        JsonNode? root = document.DeepClone();
        foreach (var op in operations)
            root = ApplyOne(root, op);
        return root ?? throw new JsonPatchException("the patch removed the whole document");
    }

    private static JsonNode? ApplyOne(JsonNode? root, JsonPatchOperation op)
    {
        switch (op.Op)
        {
            case "add": return Add(root, op.Path, op.Value?.DeepClone());
            case "remove": Remove(root, op.Path, out _); return root;
            case "replace":
                if (op.Path.Length == 0) return op.Value?.DeepClone();
                // kube-apiserver's json-patch (evanphx v4) replaces a missing member of an existing object as if it
                // were added; only a missing parent or array index fails. Match it so the sandbox answers the same.
                if (!IsMissingObjectMember(root, op.Path)) Remove(root, op.Path, out _);
                return Add(root, op.Path, op.Value?.DeepClone());
            case "move":
            {
                var from = op.From ?? throw new JsonPatchException($"'move' to '{op.Path}' without 'from'");
                if (op.Path.StartsWith(from + "/", StringComparison.Ordinal))
                    throw new JsonPatchException($"cannot move '{from}' into its own child '{op.Path}'");
                Remove(root, from, out var moved);
                return Add(root, op.Path, moved);
            }
            case "copy":
            {
                var from = op.From ?? throw new JsonPatchException($"'copy' to '{op.Path}' without 'from'");
                return Add(root, op.Path, Resolve(root, from)?.DeepClone());
            }
            case "test":
            {
                var actual = Resolve(root, op.Path);
                if (!JsonNode.DeepEquals(actual, op.Value))
                    throw new JsonPatchException(
                        $"test failed at '{op.Path}': expected {op.Value?.ToJsonString() ?? "null"}, found {actual?.ToJsonString() ?? "null"}",
                        isTestFailure: true);
                return root;
            }
            default: throw new JsonPatchException($"unknown JSON Patch operation '{op.Op}'");
        }
    }

    public static IReadOnlyList<string> ParsePointer(string pointer)
    {
        if (pointer.Length == 0) return Array.Empty<string>();
        if (pointer[0] != '/') throw new JsonPatchException($"JSON pointer '{pointer}' must start with '/'");
        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToArray();
    }

    /// <summary>The node at a pointer; throws when a segment is missing (a present JSON null resolves to null).</summary>
    public static JsonNode? Resolve(JsonNode? root, string pointer)
    {
        var node = root;
        foreach (var token in ParsePointer(pointer))
        {
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(token, out var child) => child,
                JsonArray a when TryIndex(token, a.Count, out var i) => a[i],
                _ => throw new JsonPatchException($"path '{pointer}' does not exist", isTestFailure: false),
            };
        }
        return node;
    }

    private static JsonNode? Add(JsonNode? root, string pointer, JsonNode? value)
    {
        var tokens = ParsePointer(pointer);
        if (tokens.Count == 0) return value;
        var parent = Resolve(root, ParentPointer(tokens));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a:
                if (last == "-") a.Add(value);
                else if (TryIndex(last, a.Count + 1, out var i)) a.Insert(i, value);
                else throw new JsonPatchException($"array index '{last}' out of range at '{pointer}'");
                break;
            default:
                throw new JsonPatchException($"cannot add at '{pointer}': parent is not an object or array");
        }
        return root;
    }

    private static void Remove(JsonNode? root, string pointer, out JsonNode? removed)
    {
        var tokens = ParsePointer(pointer);
        if (tokens.Count == 0) throw new JsonPatchException("cannot remove the whole document");
        var parent = Resolve(root, ParentPointer(tokens));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o when o.TryGetPropertyValue(last, out var child):
                o.Remove(last);
                removed = child;
                return;
            case JsonArray a when TryIndex(last, a.Count, out var i):
                removed = a[i];
                a.RemoveAt(i);
                return;
            default:
                throw new JsonPatchException($"path '{pointer}' does not exist");
        }
    }

    private static bool IsMissingObjectMember(JsonNode? root, string pointer)
    {
        var tokens = ParsePointer(pointer);
        return Resolve(root, ParentPointer(tokens)) is JsonObject o && !o.ContainsKey(tokens[^1]);
    }

    private static bool TryIndex(string token, int count, out int index)
    {
        index = -1;
        if (token.Length == 0 || (token.Length > 1 && token[0] == '0')) return false;
        return int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out index) && index < count;
    }

    private static string ParentPointer(IReadOnlyList<string> tokens) =>
        string.Concat(tokens.Take(tokens.Count - 1).Select(t => "/" + Escape(t)));

    public static string Escape(string token) => token.Replace("~", "~0").Replace("/", "~1");
}

/// <summary>RFC 7386.</summary>
internal static class MergePatchApplier
{
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in p.ToList())
        {
            if (value is null) result.Remove(key);
            else
            {
                result.TryGetPropertyValue(key, out var existing);
                var merged = Apply(existing?.DeepClone(), value);
                result[key] = merged;
            }
        }
        return result;
    }
}
