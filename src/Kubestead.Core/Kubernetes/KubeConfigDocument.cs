using k8s.KubeConfigModels;
using YamlDotNet.RepresentationModel;
#if !KUBESTEAD_NATIVE
using YamlDotNet.Serialization;
#endif

namespace Kubestead.Kubernetes;

/// <summary>
/// Reads a kubeconfig file into KubernetesClient's own model (<see cref="K8SConfiguration"/>); the library then resolves
/// contexts, CA, certificates, exec plugins and TLS. Nothing here knows the kubeconfig's fields.
/// The JIT build reads with a plain YamlDotNet deserializer and the model's own <c>[YamlMember]</c> names: the library's
/// <c>LoadKubeConfig</c> there goes through <c>KubernetesYaml</c>, whose first use reflects over every Kubernetes model
/// type (~0.5 s of each `kubestead status` against ~0.14 s; docs/design-notes.md, "Reading kubeconfig").
/// The native build (KubernetesClient.Aot) calls the library's reader, which is source-generated there: fast and free
/// of reflection (docs/native.md). <c>KubeConfigDocumentTests</c> checks the JIT reader against the library's.
/// </summary>
internal static class KubeConfigDocument
{
#if !KUBESTEAD_NATIVE
    private static readonly IDeserializer ModelReader = new DeserializerBuilder().IgnoreUnmatchedProperties().Build();
#endif

    public static (K8SConfiguration Config, IReadOnlyDictionary<string, string> TokenFiles) Read(string file)
    {
        var text = File.ReadAllText(file);
#if KUBESTEAD_NATIVE
        var config = k8s.KubernetesClientConfiguration.LoadKubeConfig(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text))) ?? new K8SConfiguration();
#else
        var config = ModelReader.Deserialize<K8SConfiguration?>(text) ?? new K8SConfiguration();
#endif
        config.FileName = file;
        // The second pass only runs when the key is there at all (rare), so a plain kubeconfig is parsed once.
        return (config, text.Contains("tokenFile", StringComparison.Ordinal) ? TokenFiles(text) : new Dictionary<string, string>());
    }

    /// <summary>
    /// The one key the library's model drops: a user's <c>tokenFile</c> (client-go reads it; so does Kubestead). Read from
    /// YamlDotNet's node model, which needs no reflection in either build.
    /// </summary>
    internal static IReadOnlyDictionary<string, string> TokenFiles(string text)
    {
        var tokenFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return tokenFiles;
        if (!root.Children.TryGetValue(new YamlScalarNode("users"), out var users) || users is not YamlSequenceNode list) return tokenFiles;
        foreach (var entry in list.OfType<YamlMappingNode>())
        {
            var name = Scalar(entry, "name");
            if (name is null || !entry.Children.TryGetValue(new YamlScalarNode("user"), out var user) || user is not YamlMappingNode details) continue;
            if (Scalar(details, "tokenFile") is { Length: > 0 } tf) tokenFiles.TryAdd(name, tf);
        }
        return tokenFiles;
    }

    private static string? Scalar(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;
}
