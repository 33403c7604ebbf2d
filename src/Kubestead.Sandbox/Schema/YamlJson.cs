using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Sandbox.Schema;

/// <summary>YAML to JSON keeping scalar types, as kube-apiserver reads a manifest (the same rules as a spec's pod-template parts).</summary>
public static class YamlJson
{
    public static JsonNode? Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : Kubestead.Specs.SpecYamlJson.Convert(stream.Documents[0].RootNode);
    }
}
