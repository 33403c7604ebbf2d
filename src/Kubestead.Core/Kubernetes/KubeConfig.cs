using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>How to reach and authenticate to one cluster, resolved from a kubeconfig context or in-cluster config.</summary>
public sealed record ClusterConnection
{
    public required Uri Server { get; init; }
    public required string Namespace { get; init; }
    public string? ContextName { get; init; }
    public string? CertificateAuthorityPem { get; init; }
    public bool InsecureSkipTlsVerify { get; init; }
    public string? TlsServerName { get; init; }
    public string? Token { get; init; }
    public string? TokenFile { get; init; }
    public string? ClientCertificatePem { get; init; }
    public string? ClientKeyPem { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }
    public ExecCredentialConfig? Exec { get; init; }

    /// <summary>Never prints credentials: only where it connects and how it authenticates.</summary>
    public override string ToString()
    {
        var auth = Exec is not null ? $"exec {Exec.Command}" : Token is not null ? "bearer token" : TokenFile is not null ? $"token file {TokenFile}"
            : ClientCertificatePem is not null ? "client certificate" : Username is not null ? $"basic auth as {Username}" : "anonymous";
        return $"{Server} (context {ContextName ?? "(in-cluster)"}, namespace {Namespace}, {auth})";
    }
}

/// <summary>An exec credential plugin (client.authentication.k8s.io v1 or v1beta1), as EKS, GKE and AKS kubeconfigs use.</summary>
public sealed record ExecCredentialConfig(
    string ApiVersion,
    string Command,
    IReadOnlyList<string> Args,
    IReadOnlyList<KeyValuePair<string, string>> Env,
    string? InstallHint,
    string? BaseDirectory)
{
    public override string ToString() => $"exec credential plugin {Command} ({ApiVersion})";
}

/// <summary>The kubeconfig could not be used: missing, malformed, or naming a context/cluster/user that does not exist.</summary>
public sealed class KubeConfigException(string message, string? file = null)
    : KubesteadException("KubeConfigInvalid", KubesteadErrorKind.InvalidInput, message, file);

/// <summary>A merged kubeconfig: clusters, users and contexts by name, and the current context.</summary>
public sealed class KubeConfig
{
    internal Dictionary<string, (JsonObject Cluster, string Dir)> Clusters { get; } = new();
    internal Dictionary<string, (JsonObject User, string Dir)> Users { get; } = new();
    internal Dictionary<string, JsonObject> Contexts { get; } = new();

    public string? CurrentContext { get; internal set; }

    public IReadOnlyCollection<string> ContextNames => Contexts.Keys;
}
