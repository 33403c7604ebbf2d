using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

/// <summary>
/// Reads <c>spec.canary.templatePatch</c> and <c>spec.canary.manifest</c>: the checks that need no cluster (shape,
/// merge keys, Kubestead's version label), and the manifest file a spec names, which is inlined before the spec is
/// stored so another process on another machine reads the same canary.
/// </summary>
internal static class CanaryTemplateSpec
{
    private const string PatchField = "spec.canary.templatePatch";
    private const string ManifestField = "spec.canary.manifest";

    public static string? ReadPatch(SpecReader r, YamlMappingNode canary, string versionLabel)
    {
        var map = r.Map(canary, "templatePatch", "spec.canary", required: false);
        if (map is null) return null;
        r.CheckKeys(map, PatchField, "metadata", "spec");
        if (SpecYamlJson.Convert(map) is not JsonObject patch) return null;
        var before = r.Problems.Count;
        if (patch["metadata"]?["labels"] is JsonObject labels && labels.ContainsKey(versionLabel))
            r.Problem(map, $"{PatchField}.metadata.labels.{versionLabel}",
                $"the version label '{versionLabel}' is Kubestead's: it sets {versionLabel}=canary on the canary's pods; remove it from the patch");
        foreach (var list in new[] { "containers", "initContainers" })
        {
            if (patch["spec"]?[list] is null) continue;
            if (patch["spec"]?[list] is not JsonArray items)
            {
                r.Problem(map, $"{PatchField}.spec.{list}", "must be a list of containers, each with its name");
                continue;
            }
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is JsonObject item && item["name"] is JsonValue name && name.TryGetValue<string>(out var n) && n.Length > 0) continue;
                if (items[i] is JsonObject o && o.ContainsKey("$patch") && o["$patch"]?.ToString() == "replace") continue;
                r.Problem(map, $"{PatchField}.spec.{list}[{i}].name",
                    $"required: {list} are merged with stable's by name, as a strategic-merge patch merges them");
            }
        }
        CheckEnvValues(patch["spec"], PatchField + ".spec", message => r.Problem(map, message.Field, message.Text));
        return r.Problems.Count > before ? null : patch.ToJsonString();
    }

    public static string? ReadManifest(SpecReader r, YamlMappingNode canary, string specFile)
    {
        var node = SpecReader.Child(canary, "manifest");
        if (node is null || SpecReader.IsNull(node)) return null;
        YamlNode? root = node;
        var where = "";
        if (node is YamlScalarNode { Value: { Length: > 0 } path })
        {
            var full = Resolve(path, specFile);
            where = $" (in {path})";
            root = LoadFile(r, node, full, path);
            if (root is null) return null;
        }
        if (root is not YamlMappingNode)
        {
            r.Problem(node, ManifestField, $"must be a Deployment (a mapping inline, or the path of a YAML file), not {(root is YamlSequenceNode ? "a list" : "a scalar")}");
            return null;
        }
        if (SpecYamlJson.Convert(root) is not JsonObject manifest) return null;
        var before = r.Problems.Count;
        void Problem(string field, string message) => r.Problem(node, $"{ManifestField}.{field}", message + where);
        if (manifest["apiVersion"]?.ToString() != "apps/v1")
            Problem("apiVersion", $"must be apps/v1, not '{manifest["apiVersion"]?.ToString() ?? "(missing)"}'");
        if (manifest["kind"]?.ToString() != "Deployment")
            Problem("kind", $"must be Deployment, not '{manifest["kind"]?.ToString() ?? "(missing)"}': its pod template becomes the canary's");
        if (manifest["spec"]?["template"]?["spec"]?["containers"] is not JsonArray { Count: > 0 } containers)
            Problem("spec.template.spec.containers", "required: the canary's pods need at least one container");
        else
            for (var i = 0; i < containers.Count; i++)
            {
                if (containers[i]?["name"] is not JsonValue) Problem($"spec.template.spec.containers[{i}].name", "required");
                if (containers[i]?["image"] is not JsonValue) Problem($"spec.template.spec.containers[{i}].image", "required");
            }
        CheckEnvValues(manifest["spec"]?["template"]?["spec"], ManifestField + ".spec.template.spec", message => Problem(message.Field[(ManifestField.Length + 1)..], message.Text));
        return r.Problems.Count > before ? null : manifest.ToJsonString();
    }

    /// <summary>
    /// An env value must be a string: YAML reads <c>8080</c> or <c>true</c> as a number or a boolean, which the API server
    /// refuses only when the canary is created, after the rollout has started.
    /// </summary>
    private static void CheckEnvValues(JsonNode? podSpec, string path, Action<(string Field, string Text)> problem)
    {
        foreach (var list in new[] { "containers", "initContainers" })
            foreach (var container in (podSpec?[list] as JsonArray ?? []).OfType<JsonObject>())
                foreach (var env in (container["env"] as JsonArray ?? []).OfType<JsonObject>())
                    if (env["value"] is JsonValue v && v.GetValueKind() != System.Text.Json.JsonValueKind.String)
                        problem(($"{path}.{list}[name={container["name"]}].env[name={env["name"]}].value",
                            $"must be a string; YAML reads {v.ToJsonString()} as a {(v.GetValueKind() is System.Text.Json.JsonValueKind.Number ? "number" : "boolean")}: quote it (\"{v.ToJsonString()}\")"));
    }

    /// <summary>The spec's YAML with a manifest path replaced by the manifest itself (unchanged when the manifest is inline).</summary>
    public static string InlineManifest(string yaml, string specFile)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count == 0
            || SpecReader.Child(SpecReader.Child(stream.Documents[0].RootNode as YamlMappingNode, "spec") as YamlMappingNode, "canary") is not YamlMappingNode canary
            || SpecReader.Child(canary, "manifest") is not YamlScalarNode { Value: { Length: > 0 } path })
            return yaml;
        var manifest = new YamlStream();
        manifest.Load(new StringReader(File.ReadAllText(Resolve(path, specFile))));
        canary.Children[new YamlScalarNode("manifest")] = manifest.Documents[0].RootNode;
        var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>A manifest path is relative to the spec file's folder (or to the working folder for a spec given as text).</summary>
    public static string Resolve(string path, string specFile)
    {
        if (Path.IsPathRooted(path)) return path;
        var folder = File.Exists(specFile) ? Path.GetDirectoryName(Path.GetFullPath(specFile)) : null;
        return Path.GetFullPath(Path.Combine(folder ?? Directory.GetCurrentDirectory(), path));
    }

    private static YamlNode? LoadFile(SpecReader r, YamlNode at, string full, string path)
    {
        if (!File.Exists(full))
        {
            r.Problem(at, ManifestField, $"file '{path}' does not exist (looked for {full})");
            return null;
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(File.ReadAllText(full)));
        }
        catch (YamlException e)
        {
            r.Problem(at, ManifestField, $"'{path}' is not valid YAML: {e.InnerException?.Message ?? e.Message} (line {e.Start.Line})");
            return null;
        }
        if (stream.Documents.Count != 1)
        {
            r.Problem(at, ManifestField, $"'{path}' must hold exactly one YAML document (the canary Deployment), it holds {stream.Documents.Count}");
            return null;
        }
        return stream.Documents[0].RootNode;
    }
}
