using k8s;
using k8s.KubeConfigModels;

namespace Kubestead.Kubernetes;

/// <summary>
/// How to reach and authenticate to one cluster: the library's <see cref="KubernetesClientConfiguration"/> (host, CA,
/// insecure, tls-server-name, token, certificate, exec plugin), plus the namespace and context Kubestead resolved.
/// </summary>
public sealed class ClusterConnection
{
    internal ClusterConnection(KubernetesClientConfiguration configuration, string ns, string? contextName, ExternalExecution? exec,
        string? tokenFile, IReadOnlyList<string>? credentialFiles = null)
    {
        Configuration = configuration;
        Namespace = ns;
        ContextName = contextName;
        Exec = exec;
        TokenFile = tokenFile;
        CredentialFiles = credentialFiles ?? [];
    }

    /// <summary>The library's settings; tests and callers may adjust TLS or credentials before the first request.</summary>
    public KubernetesClientConfiguration Configuration { get; }

    public Uri Server => new(Configuration.Host.TrimEnd('/') + "/");

    public string Namespace { get; }

    public string? ContextName { get; }

    /// <summary>The exec credential plugin (EKS, GKE, AKS ...), when the user has one.</summary>
    public ExternalExecution? Exec { get; }

    /// <summary>The token file (kubeconfig <c>tokenFile</c> or the in-cluster service-account token), re-read by the library.</summary>
    public string? TokenFile { get; }

    /// <summary>
    /// The certificate-authority, client-certificate and client-key files the context names by path (absolute), read
    /// once when the client is built: a host that keeps the connection checks them to notice a rotated certificate.
    /// </summary>
    public IReadOnlyList<string> CredentialFiles { get; }

    internal ClusterConnection WithNamespace(string ns) => new(Configuration, ns, ContextName, Exec, TokenFile, CredentialFiles);

    /// <summary>Never prints credentials: only where it connects and how it authenticates.</summary>
    public override string ToString()
    {
        var c = Configuration;
        var auth = Exec is not null ? $"exec {Exec.Command}" : TokenFile is not null ? $"token file {TokenFile}"
            : c.AccessToken is not null || c.TokenProvider is not null ? "bearer token"
            : c.ClientCertificateData is not null || c.ClientCertificateFilePath is not null ? "client certificate"
            : c.Username is not null ? $"basic auth as {c.Username}" : "anonymous";
        return $"{Server} (context {ContextName ?? "(in-cluster)"}, namespace {Namespace}, {auth})";
    }
}
