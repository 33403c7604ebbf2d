using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>Labels and annotations that mark what Kubestead created or manages, so any process can clean up the right things.</summary>
public static class Ownership
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string CreatedByAnnotation = "kubestead.io/created-by";
    public const string RolloutAnnotation = "kubestead.io/rollout";
    public const string ManagedFieldsAnnotation = "kubestead.io/managed-fields";

    public static bool CreatedBy(JsonObject obj, string rollout) =>
        obj["metadata"]?["annotations"]?[CreatedByAnnotation]?.GetValue<string>() == rollout;

    public static JsonObject Metadata(string name, string ns, string rollout, JsonObject? labels = null) => new()
    {
        ["name"] = name,
        ["namespace"] = ns,
        ["labels"] = labels ?? new JsonObject { [ManagedByLabel] = "kubestead" },
        ["annotations"] = new JsonObject { [CreatedByAnnotation] = rollout },
    };

    /// <summary>Which GitOps controller manages an object, from the labels and annotations Argo CD and Flux put on it.</summary>
    public static string? GitOpsController(JsonObject obj)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        var annotations = obj["metadata"]?["annotations"] as JsonObject;
        bool Has(JsonObject? o, Func<string, bool> pred) => o?.Any(kv => pred(kv.Key)) == true;
        if (Has(annotations, k => k.StartsWith("argocd.argoproj.io/", StringComparison.Ordinal)) || labels?["app.kubernetes.io/instance"] is not null && annotations?["argocd.argoproj.io/tracking-id"] is not null
            || Has(labels, k => k.StartsWith("argocd.argoproj.io/", StringComparison.Ordinal)))
            return "Argo CD";
        if (Has(labels, k => k.StartsWith("kustomize.toolkit.fluxcd.io/", StringComparison.Ordinal) || k.StartsWith("helm.toolkit.fluxcd.io/", StringComparison.Ordinal)))
            return "Flux";
        return null;
    }

    /// <summary>A JSON Patch op adding or replacing one annotation (creating the map when absent).</summary>
    public static IEnumerable<JsonPatchOperation> SetAnnotation(JsonObject obj, string key, string value)
    {
        if (obj["metadata"]?["annotations"] is not JsonObject)
            yield return JsonPatchOperation.Add("/metadata/annotations", new JsonObject());
        yield return JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(key), value);
    }

    public static IEnumerable<JsonPatchOperation> RemoveAnnotation(JsonObject obj, string key)
    {
        if (obj["metadata"]?["annotations"]?[key] is not null)
            yield return JsonPatchOperation.Remove("/metadata/annotations/" + JsonPatchApplier.Escape(key));
    }

    public static JsonPatchOperation PinVersion(JsonObject obj) =>
        JsonPatchOperation.Test("/metadata/resourceVersion", obj["metadata"]?["resourceVersion"]?.DeepClone());
}
