using k8s.KubeConfigModels;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Kubernetes;

/// <summary>
/// Reads a kubeconfig file into KubernetesClient's own model (<see cref="K8SConfiguration"/>), which the library then
/// resolves (contexts, CA, certificates, exec plugins, TLS). Only the reading is ours, for speed: the library's
/// <c>LoadKubeConfig</c> goes through <c>KubernetesYaml</c>, whose first use reflects over every Kubernetes model type and
/// took 2.5-4 s of a `kubestead status` here (bench/results/status-speed.md); YamlDotNet's node model reads the same file
/// in ~20 ms. <c>KubeConfigDocumentTests</c> checks that both readers produce the same model for every shape tested.
/// Also returns <c>tokenFile</c>, which the library's model drops.
/// </summary>
internal static class KubeConfigDocument
{
    public static (K8SConfiguration Config, IReadOnlyDictionary<string, string> TokenFiles) Read(string file)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(file)) stream.Load(reader);
        var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode as YamlMappingNode;
        var tokenFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        var config = new K8SConfiguration
        {
            ApiVersion = Text(root, "apiVersion"),
            Kind = Text(root, "kind"),
            CurrentContext = Text(root, "current-context"),
            FileName = file,
            Clusters = Items(root, "clusters").Select(c => new Cluster
            {
                Name = Text(c, "name"),
                ClusterEndpoint = Map(c, "cluster") is { } e ? new ClusterEndpoint
                {
                    Server = Text(e, "server"),
                    CertificateAuthority = Text(e, "certificate-authority"),
                    CertificateAuthorityData = Text(e, "certificate-authority-data"),
                    TlsServerName = Text(e, "tls-server-name"),
                    SkipTlsVerify = Flag(e, "insecure-skip-tls-verify"),
                } : null,
            }).ToList(),
            Contexts = Items(root, "contexts").Select(c => new Context
            {
                Name = Text(c, "name"),
                ContextDetails = Map(c, "context") is { } d ? new ContextDetails
                {
                    Cluster = Text(d, "cluster"), User = Text(d, "user"), Namespace = Text(d, "namespace"),
                } : null,
            }).ToList(),
            Users = Items(root, "users").Select(u =>
            {
                var name = Text(u, "name");
                var m = Map(u, "user");
                if (name is not null && Text(m, "tokenFile") is { Length: > 0 } tf) tokenFiles.TryAdd(name, tf);
                return new User { Name = name, UserCredentials = m is null ? null : Credentials(m) };
            }).ToList(),
        };
        return (config, tokenFiles);
    }

    private static UserCredentials Credentials(YamlMappingNode m) => new()
    {
        ClientCertificateData = Text(m, "client-certificate-data"),
        ClientCertificate = Text(m, "client-certificate"),
        ClientKeyData = Text(m, "client-key-data"),
        ClientKey = Text(m, "client-key"),
        Token = Text(m, "token"),
        Impersonate = Text(m, "as"),
        UserName = Text(m, "username"),
        Password = Text(m, "password"),
        AuthProvider = Map(m, "auth-provider") is { } ap ? new AuthProvider
        {
            Name = Text(ap, "name"),
            Config = Map(ap, "config")?.Children.ToDictionary(kv => Scalar(kv.Key) ?? "", kv => Scalar(kv.Value) ?? ""),
        } : null,
        ExternalExecution = Map(m, "exec") is { } x ? new ExternalExecution
        {
            ApiVersion = Text(x, "apiVersion"),
            Command = Text(x, "command"),
            Arguments = Scalars(x, "args").Select(Scalar).OfType<string>().ToList(),
            EnvironmentVariables = Items(x, "env").Select(e => e.Children.ToDictionary(kv => Scalar(kv.Key) ?? "", kv => Scalar(kv.Value) ?? "")).ToList(),
            InstallHint = Text(x, "installHint"),
            ProvideClusterInfo = Flag(x, "provideClusterInfo"),
        } : null,
    };

    private static YamlNode? Child(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static YamlMappingNode? Map(YamlMappingNode? node, string key) => Child(node, key) as YamlMappingNode;

    private static string? Scalar(YamlNode node) =>
        node is YamlScalarNode s && !(s.Style == YamlDotNet.Core.ScalarStyle.Plain && s.Value is "" or "~" or "null" or "Null" or "NULL") ? s.Value : null;

    private static string? Text(YamlMappingNode? node, string key) => Child(node, key) is { } v ? Scalar(v) : null;

    private static bool Flag(YamlMappingNode node, string key) =>
        bool.TryParse(Text(node, key), out var b) && b;

    private static IEnumerable<YamlMappingNode> Items(YamlMappingNode? node, string key) =>
        (Child(node, key) as YamlSequenceNode)?.Children.OfType<YamlMappingNode>() ?? [];

    private static IEnumerable<YamlNode> Scalars(YamlMappingNode? node, string key) =>
        (Child(node, key) as YamlSequenceNode)?.Children ?? (IEnumerable<YamlNode>)[];
}
