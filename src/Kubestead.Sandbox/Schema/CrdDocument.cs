using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Schema;

/// <summary>One served version of a CRD and its schema.</summary>
public sealed record CrdVersion(string Name, bool Served, bool Storage, JsonObject Schema);

/// <summary>A CustomResourceDefinition read from YAML: group, names, scope and every version's openAPIV3Schema.</summary>
public sealed record CrdDocument(string Group, string Kind, string Plural, bool Namespaced, IReadOnlyList<CrdVersion> Versions)
{
    public static CrdDocument Load(string path) => FromJson(YamlJson.Parse(File.ReadAllText(path)) as JsonObject
        ?? throw new ArgumentException($"{path} holds no CRD", nameof(path)));

    public static CrdDocument FromJson(JsonObject crd)
    {
        var spec = crd["spec"] ?? throw new ArgumentException("CRD without spec");
        var versions = (spec["versions"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().Select(v => new CrdVersion(
            v["name"]!.ToString(),
            v["served"]?.GetValue<bool>() ?? true,
            v["storage"]?.GetValue<bool>() ?? false,
            v["schema"]?["openAPIV3Schema"] as JsonObject ?? new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true })).ToList();
        return new CrdDocument(spec["group"]!.ToString(), spec["names"]!["kind"]!.ToString(), spec["names"]!["plural"]!.ToString(),
            spec["scope"]?.ToString() != "Cluster", versions);
    }

    public IEnumerable<ResourceType> ResourceTypes => Versions.Where(v => v.Served).Select(v => new ResourceType(Group, v.Name, Plural, Kind, Namespaced));

    public JsonObject SchemaFor(string version) =>
        Versions.FirstOrDefault(v => v.Name == version)?.Schema ?? throw new ArgumentException($"{Plural}.{Group} has no version {version}");
}
