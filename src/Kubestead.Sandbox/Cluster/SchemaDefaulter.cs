using System.Text.Json.Nodes;

namespace Kubestead.Sandbox.Cluster;

/// <summary>
/// What kube-apiserver does to a custom resource before validating it: drops fields the structural schema does not
/// know (unless <c>x-kubernetes-preserve-unknown-fields</c>) and fills in the schema's <c>default</c>s for absent fields
/// of objects that are present. Without it the sandbox would return objects the real server never would (HTTPRoute
/// backendRefs without their defaulted group, kind and weight).
/// </summary>
public static class SchemaDefaulter
{
    /// <param name="prune">False keeps unknown fields, so that strict validation can report them instead.</param>
    public static void Apply(JsonObject obj, JsonObject schema, bool prune)
    {
        // apiVersion, kind and metadata are the server's own; the schema describes the rest.
        var properties = schema["properties"] as JsonObject;
        foreach (var (key, child) in obj.ToList())
        {
            if (key is "apiVersion" or "kind" or "metadata") continue;
            if (properties?[key] is JsonObject childSchema) Walk(child, childSchema, prune);
            else if (prune && properties is not null && !Preserves(schema)) obj.Remove(key);
        }
        AddDefaults(obj, properties);
    }

    private static void Walk(JsonNode? node, JsonObject schema, bool prune)
    {
        switch (node)
        {
            case JsonObject o:
                var properties = schema["properties"] as JsonObject;
                var additional = schema["additionalProperties"] as JsonObject;
                foreach (var (key, child) in o.ToList())
                {
                    if (properties?[key] is JsonObject childSchema) Walk(child, childSchema, prune);
                    else if (additional is not null) Walk(child, additional, prune);
                    else if (prune && !Preserves(schema) && (properties is not null || schema["type"]?.GetValue<string>() == "object")
                             && schema["x-kubernetes-int-or-string"] is null && schema["additionalProperties"]?.GetValueKind() != System.Text.Json.JsonValueKind.True)
                        o.Remove(key);
                }
                AddDefaults(o, properties);
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                foreach (var item in a) Walk(item, items, prune);
                break;
        }
    }

    private static void AddDefaults(JsonObject o, JsonObject? properties)
    {
        if (properties is null) return;
        foreach (var (key, childSchema) in properties)
            if (!o.ContainsKey(key) && childSchema?["default"] is { } value)
            {
                var copy = value.DeepClone();
                o[key] = copy;
                if (childSchema is JsonObject s) Walk(copy, s, prune: false);
            }
    }

    private static bool Preserves(JsonObject schema) => schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
}
