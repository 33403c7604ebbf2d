using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kubestead.Sandbox.Server;

/// <summary>A throw-away CA and a server certificate signed by it, for the sandbox's HTTPS endpoint.</summary>
public static class SandboxCertificates
{
    public static (X509Certificate2 Server, string CaPem) Create() => Create(TimeProvider.System);

    /// <remarks>
    /// The clock is read once: a leaf whose notAfter is computed from a later reading than its CA's is refused by
    /// CertificateRequest.Create, and on a loaded machine two readings can straddle a second boundary.
    /// </remarks>
    public static (X509Certificate2 Server, string CaPem) Create(TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        var notBefore = now.AddMinutes(-5);
        var notAfter = now.AddDays(7);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=kubestead-sandbox-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kubestead-sandbox", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        san.AddDnsName("kubernetes.default.svc");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = request.Create(ca, notBefore, notAfter, Guid.NewGuid().ToByteArray()[..8]);
        using var withKey = signed.CopyWithPrivateKey(key);
#pragma warning disable SYSLIB0057
        var server = new X509Certificate2(withKey.Export(X509ContentType.Pkcs12));
#pragma warning restore SYSLIB0057
        return (server, ca.ExportCertificatePem());
    }
}
