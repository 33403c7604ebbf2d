using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>
/// A fresh CA with a server certificate (for <c>prometheus.test</c> and 127.0.0.1) and a client certificate, written
/// as PEM files into <see cref="Directory"/>; a second, unrelated CA for the "wrong CA" case.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("kubestead-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = SelfSignedCa("Kubestead test CA", caKey);
        Write("ca.pem", ca.ExportCertificatePem());
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = SelfSignedCa("Some other CA", otherKey);
        Write("other-ca.pem", other.ExportCertificatePem());
        Issue(ca, "server", "prometheus.test", serverAuth: true);
        Issue(ca, "client", "kubestead", serverAuth: false);
    }

    public string Directory { get; }

    public string PathOf(string file) => Path.Combine(Directory, file);

    private static X509Certificate2 SelfSignedCa(string name, ECDsa key)
    {
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        // The CA outlives its leaves by an hour: leaves issued a second later must not end after it.
        var now = DateTimeOffset.UtcNow;
        return req.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(1).AddHours(1));
    }

    private void Issue(X509Certificate2 ca, string file, string name, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(name);
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
        }
        // Within the CA's validity: a leaf issued a second later than the CA would otherwise end after it, which Create refuses.
        using var cert = req.Create(ca, ca.NotBefore, ca.NotAfter.AddHours(-1), RandomNumberGenerator.GetBytes(12));
        Write($"{file}.pem", cert.ExportCertificatePem());
        Write($"{file}.key", key.ExportPkcs8PrivateKeyPem());
    }

    private void Write(string file, string pem) => File.WriteAllText(PathOf(file), pem + "\n");

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}
