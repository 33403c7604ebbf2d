using System.Text.Json.Nodes;

namespace Kubestead.Tests.Shared;

/// <summary>The documents of deploy/*.yaml, read the way the API server will get them (YAML to JSON), shared by the tests of deploy/.</summary>
internal static class DeployManifests
{
    public static string Folder => Path.Combine(RepositoryRoot.Path, "deploy");

    /// <summary>The manifests (kustomization.yaml, which only lists them, aside).</summary>
    public static IReadOnlyList<string> Files => Directory.GetFiles(Folder, "*.yaml").Select(Path.GetFileName).OfType<string>()
        .Where(f => f != "kustomization.yaml").Order(StringComparer.Ordinal).ToList();

    /// <summary>Every document of <paramref name="file"/>, with the namespaces the manifests name replaced as asked.</summary>
    public static List<JsonObject> Documents(string file, IReadOnlyDictionary<string, string>? namespaces = null)
    {
        var text = File.ReadAllText(Path.Combine(Folder, file));
        foreach (var (from, to) in namespaces ?? new Dictionary<string, string>())
            text = text.Replace($"namespace: {from}\n", $"namespace: {to}\n", StringComparison.Ordinal).Replace($"  name: {from}\n", $"  name: {to}\n", StringComparison.Ordinal);
        return text.Split("\n---\n")
            .Select(doc => Kubestead.Sandbox.Schema.YamlJson.Parse(doc))
            .OfType<JsonObject>()
            .ToList();
    }

    public static JsonObject Single(string file, string kind, IReadOnlyDictionary<string, string>? namespaces = null) =>
        Documents(file, namespaces).Single(d => d["kind"]!.GetValue<string>() == kind);

    /// <summary>A Role's or ClusterRole's rules, one (group, resource, verb) per grant.</summary>
    public static HashSet<(string Group, string Resource, string Verb)> Grants(JsonObject role) =>
        role["rules"]!.AsArray().SelectMany(rule =>
            from g in rule!["apiGroups"]!.AsArray()
            from r in rule["resources"]!.AsArray()
            from v in rule["verbs"]!.AsArray()
            select (g!.GetValue<string>(), r!.GetValue<string>(), v!.GetValue<string>())).ToHashSet();
}
