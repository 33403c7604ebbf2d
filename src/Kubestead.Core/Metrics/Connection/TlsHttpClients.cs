using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// One HttpClient per distinct <see cref="TlsSpec"/> (a handler holds the trust roots and client certificate), kept
/// for the provider's lifetime so a controller driving many rollouts does not open a connection pool per window, and
/// disposed with the <see cref="MetricProviderSet"/> that owns it (closing the pools' sockets).
/// </summary>
public sealed class TlsHttpClients : IDisposable
{
    private readonly ConcurrentDictionary<TlsSpec, Lazy<(HttpClient Client, TlsRefusal Refusal)>> _clients = new();

    internal (HttpClient Client, TlsRefusal Refusal) For(TlsSpec tls)
    {
        var lazy = _clients.GetOrAdd(tls, t => new Lazy<(HttpClient, TlsRefusal)>(() => Create(t)));
        try
        {
            return lazy.Value;
        }
        catch (MetricsUnavailableException)
        {
            // A missing or unreadable file may be fixed (a Secret mounted late): try again next time.
            _clients.TryRemove(tls, out _);
            throw;
        }
    }

    /// <summary>How many clients are open (for tests of their ownership).</summary>
    public int Count => _clients.Count;

    public void Dispose()
    {
        foreach (var lazy in _clients.Values)
            if (lazy.IsValueCreated) lazy.Value.Client.Dispose();
        _clients.Clear();
    }

    private static (HttpClient, TlsRefusal) Create(TlsSpec tls)
    {
        var refusal = new TlsRefusal();
        X509Certificate2Collection? roots = null;
        if (tls.CaFile is { } caFile)
        {
            roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new MetricsUnavailableException($"{tls.Field}.caFile: cannot read a PEM certificate from {caFile}: {e.GetType().Name}");
            }
            if (roots.Count == 0) throw new MetricsUnavailableException($"{tls.Field}.caFile: {caFile} holds no PEM certificate");
        }
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (tls.CertFile is { } certFile)
        {
            X509Certificate2 pem;
            try
            {
                pem = X509Certificate2.CreateFromPemFile(certFile, tls.KeyFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new MetricsUnavailableException($"{tls.Field}.certFile: cannot load the client certificate {certFile} with key {tls.KeyFile}: {e.GetType().Name}");
            }
            // A key loaded from PEM is ephemeral; TLS client authentication wants it in a PKCS#12 form on some platforms.
            using (pem) handler.SslOptions.ClientCertificates = [new X509Certificate2(pem.Export(X509ContentType.Pkcs12))];
        }
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            var reason = Check(tls, roots, certificate, errors);
            refusal.Set(reason);
            return reason is null;
        };
        return (new HttpClient(handler), refusal);
    }

    /// <summary>Null when the server's certificate is accepted; else which field decides and why.</summary>
    private static string? Check(TlsSpec tls, X509Certificate2Collection? roots, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (tls.InsecureSkipVerify) return null;
        if (certificate is null) return $"{tls.Field}: the server showed no certificate";
        using var server = new X509Certificate2(certificate);
        if (tls.ServerName is { } name ? !server.MatchesHostname(name) : errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return tls.ServerName is null
                ? $"{tls.Field}.serverName: the server's certificate is not for the address's host name; set serverName to a name it carries"
                : $"{tls.Field}.serverName: the server's certificate is not for '{tls.ServerName}'";
        if (roots is null)
            return errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)
                ? $"{tls.Field}.caFile: the server's certificate is not trusted by this machine; give its CA in caFile"
                : null;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server) ? null : $"{tls.Field}.caFile: the server's certificate does not chain to the CA in {tls.CaFile}";
    }
}
