using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using LibraryKubeConfigException = k8s.Exceptions.KubeConfigException;

namespace Kubestead.Kubernetes;

/// <summary>
/// The kubeconfig user's client certificate and key (PEM, RSA or EC), from the embedded data or the files, with the same
/// rules as KubernetesClient (whose loader is internal): a file wins over data, both a certificate and a key are needed.
/// </summary>
internal static class ClientCertificate
{
    /// <summary>The certificate with its private key, or null when the user authenticates otherwise.</summary>
    public static X509Certificate2? From(KubernetesClientConfiguration c)
    {
        var hasCertificate = !string.IsNullOrWhiteSpace(c.ClientCertificateData) || !string.IsNullOrWhiteSpace(c.ClientCertificateFilePath);
        var hasKey = !string.IsNullOrWhiteSpace(c.ClientCertificateKeyData) || !string.IsNullOrWhiteSpace(c.ClientKeyFilePath);
        if (!hasCertificate || !hasKey) return null;
        var certificatePem = Pem(c.ClientCertificateFilePath, c.ClientCertificateData) ?? throw new LibraryKubeConfigException("certData is empty");
        var keyPem = Pem(c.ClientKeyFilePath, c.ClientCertificateKeyData) ?? throw new LibraryKubeConfigException("keyData is empty");
        var certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        if (!OperatingSystem.IsWindows()) return certificate;
        // Windows' TLS stack cannot use the ephemeral key CreateFromPem makes: go through PKCS#12 so the key is stored.
        using (certificate)
        {
            var pfx = certificate.Export(X509ContentType.Pkcs12);
            return c.ClientCertificateKeyStoreFlags is { } flags ? new X509Certificate2(pfx, (string?)null, flags) : new X509Certificate2(pfx, (string?)null);
        }
    }

    private static string? Pem(string? file, string? base64) =>
        !string.IsNullOrWhiteSpace(file) ? File.ReadAllText(file)
        : !string.IsNullOrWhiteSpace(base64) ? Encoding.UTF8.GetString(Convert.FromBase64String(base64))
        : null;
}
