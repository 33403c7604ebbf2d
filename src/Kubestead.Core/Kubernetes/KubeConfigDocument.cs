using k8s.KubeConfigModels;
using YamlDotNet.Serialization;

namespace Kubestead.Kubernetes;

/// <summary>
/// Reads a kubeconfig file into KubernetesClient's own model (<see cref="K8SConfiguration"/>) with YamlDotNet and the
/// model's own <c>[YamlMember]</c> names; the library then resolves contexts, CA, certificates, exec plugins and TLS.
/// Nothing here knows the kubeconfig's fields. The library's <c>LoadKubeConfig</c> reaches the same model through
/// <c>KubernetesYaml</c>, whose first use reflects over every Kubernetes model type: ~0.5 s of each `kubestead status`
/// against ~0.14 s for this deserializer (docs/design-notes.md, "Reading kubeconfig"). <c>KubeConfigDocumentTests</c>
/// checks both readers produce the same model for every shape tested.
/// </summary>
internal static class KubeConfigDocument
{
    private static readonly IDeserializer ModelReader = new DeserializerBuilder().IgnoreUnmatchedProperties().Build();

    /// <summary>The one key the library's model drops: a user's <c>tokenFile</c> (client-go reads it; so does Kubestead).</summary>
    private sealed class TokenFileView
    {
        [YamlMember(Alias = "users")] public List<NamedUser>? Users { get; set; }

        public sealed class NamedUser
        {
            [YamlMember(Alias = "name")] public string? Name { get; set; }
            [YamlMember(Alias = "user")] public Dictionary<string, object?>? User { get; set; }
        }
    }

    public static (K8SConfiguration Config, IReadOnlyDictionary<string, string> TokenFiles) Read(string file)
    {
        var text = File.ReadAllText(file);
        var config = ModelReader.Deserialize<K8SConfiguration?>(text) ?? new K8SConfiguration();
        config.FileName = file;
        var tokenFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        // The second pass only runs when the key is there at all (rare), so a plain kubeconfig is parsed once.
        if (!text.Contains("tokenFile", StringComparison.Ordinal)) return (config, tokenFiles);
        foreach (var u in ModelReader.Deserialize<TokenFileView?>(text)?.Users ?? [])
            if (u.Name is not null && u.User?.GetValueOrDefault("tokenFile") is string { Length: > 0 } tf) tokenFiles.TryAdd(u.Name, tf);
        return (config, tokenFiles);
    }
}
