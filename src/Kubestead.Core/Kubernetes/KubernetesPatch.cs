using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>A patch body and its content type.</summary>
public abstract record KubernetesPatch
{
    public abstract string ContentType { get; }

    public abstract JsonNode ToJson();
}

/// <summary>RFC 6902 JSON Patch (<c>application/json-patch+json</c>).</summary>
public sealed record JsonPatch(IReadOnlyList<JsonPatchOperation> Operations) : KubernetesPatch
{
    public const string MediaType = "application/json-patch+json";

    public override string ContentType => MediaType;

    public override JsonNode ToJson() => new JsonArray(Operations.Select(o => (JsonNode?)o.ToJson()).ToArray());

    /// <summary>Applies the patch to a copy of <paramref name="document"/>; the input is not changed.</summary>
    public JsonNode Apply(JsonNode document) => JsonPatchApplier.Apply(document, Operations);

    public static JsonPatch Parse(JsonArray array) =>
        new(array.Select(n => JsonPatchOperation.FromJson(n as JsonObject
            ?? throw new JsonPatchException("each JSON Patch operation must be an object"))).ToList());
}

/// <summary>RFC 7386 JSON Merge Patch (<c>application/merge-patch+json</c>).</summary>
public sealed record MergePatch(JsonNode Body) : KubernetesPatch
{
    public const string MediaType = "application/merge-patch+json";

    public override string ContentType => MediaType;

    public override JsonNode ToJson() => Body.DeepClone();

    /// <summary>Applies the merge patch to a copy of <paramref name="document"/>.</summary>
    public JsonNode? Apply(JsonNode? document) => MergePatchApplier.Apply(document?.DeepClone(), Body);
}

public sealed record JsonPatchOperation(string Op, string Path, JsonNode? Value = null, string? From = null)
{
    public static JsonPatchOperation Test(string path, JsonNode? value) => new("test", path, value);
    public static JsonPatchOperation Replace(string path, JsonNode? value) => new("replace", path, value);
    public static JsonPatchOperation Add(string path, JsonNode? value) => new("add", path, value);
    public static JsonPatchOperation Remove(string path) => new("remove", path);

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["op"] = Op, ["path"] = Path };
        if (From is not null) o["from"] = From;
        if (Op is "add" or "replace" or "test") o["value"] = Value?.DeepClone();
        return o;
    }

    public static JsonPatchOperation FromJson(JsonObject o)
    {
        var op = o["op"]?.GetValue<string>() ?? throw new JsonPatchException("JSON Patch operation without 'op'");
        var path = o["path"]?.GetValue<string>() ?? throw new JsonPatchException($"JSON Patch '{op}' operation without 'path'");
        if (op is "add" or "replace" or "test" && !o.ContainsKey("value"))
            throw new JsonPatchException($"JSON Patch '{op}' operation at '{path}' without 'value'");
        return new JsonPatchOperation(op, path, o["value"]?.DeepClone(), o["from"]?.GetValue<string>());
    }
}

/// <summary>A JSON Patch could not be applied. <see cref="IsTestFailure"/> marks a failed <c>test</c> operation.</summary>
public sealed class JsonPatchException(string message, bool isTestFailure = false) : Exception(message)
{
    public bool IsTestFailure { get; } = isTestFailure;
}
