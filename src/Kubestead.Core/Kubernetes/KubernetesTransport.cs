using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using k8s.Autorest;
using LibraryKubeConfigException = k8s.Exceptions.KubeConfigException;

namespace Kubestead.Kubernetes;

/// <summary>
/// The HTTP side of the library's client, built from its <see cref="KubernetesClientConfiguration"/> without constructing
/// its <c>k8s.Kubernetes</c> class: that constructor reads the configuration's JSON options, which pulls the serializers of
/// every Kubernetes model into a Native AOT binary (about 15 MB of every native command's peak memory; Kubestead speaks
/// <c>JsonNode</c> and needs none of them). What a request carries still comes from the library: its credential classes
/// (bearer token, token provider for token files and exec plugins, basic auth) and its error type
/// (<see cref="HttpOperationException"/>); the client certificate follows its rules (<see cref="ClientCertificate"/>), and
/// the request is the one its raw send path makes (HTTP/1.1, its User-Agent, <c>tls-server-name</c> as the Host header).
/// <c>KubernetesTransportTests</c> compare the request heads of both.
/// </summary>
internal sealed class KubernetesTransport : IDisposable
{
    private readonly HttpClient _http;
    private readonly ServiceClientCredentials? _credentials;
    private readonly string? _tlsServerName;

    public KubernetesTransport(KubernetesClientConfiguration configuration, params DelegatingHandler[] handlers)
    {
        BaseUri = ServerUri(configuration.Host);
        var sockets = new SocketsHttpHandler
        {
            // The library's settings, so a watch behaves the same: keep-alive pings while a request is open.
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            EnableMultipleHttp2Connections = true,
        };
        sockets.SslOptions.ClientCertificates = new X509Certificate2Collection();
        configuration.FirstMessageHandlerSetup?.Invoke(sockets);
        if (BaseUri.Scheme == Uri.UriSchemeHttps) sockets.SslOptions.RemoteCertificateValidationCallback = ServerCertificateCheck(configuration);
        if (ClientCertificate.From(configuration) is { } clientCertificate)
        {
            sockets.SslOptions.ClientCertificates.Add(clientCertificate);
            // Offered whatever the server's list of acceptable issuers says, as the library does.
            sockets.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }
        HttpMessageHandler first = sockets;
        for (var i = handlers.Length - 1; i >= 0; i--)
        {
            var innermost = handlers[i];
            while (innermost.InnerHandler is DelegatingHandler inner) innermost = inner;
            innermost.InnerHandler = first;
            first = handlers[i];
        }
        _http = new HttpClient(first, disposeHandler: true) { Timeout = configuration.HttpClientTimeout };
        if (!string.IsNullOrWhiteSpace(configuration.UserAgent)) _http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", configuration.UserAgent);
        _credentials = Credentials(configuration);
        _tlsServerName = configuration.TlsServerName;
    }

    /// <summary>The API server's address, always ending in '/', so relative paths append to any path prefix it has.</summary>
    public Uri BaseUri { get; }

    /// <summary>One HTTP request with the kubeconfig's credentials; the response is returned once its headers arrive.
    /// A status outside 2xx throws the library's <see cref="HttpOperationException"/> with the body read.</summary>
    public async Task<HttpResponseMessage> SendAsync(string? body, HttpRequestMessage request, CancellationToken ct)
    {
        if (_credentials is not null)
        {
            ct.ThrowIfCancellationRequested();
            await _credentials.ProcessHttpRequestAsync(request, ct).ConfigureAwait(false);
        }
        // The name TLS checks the certificate against follows the Host header (SNI too), which is how the library applies it.
        if (!string.IsNullOrWhiteSpace(_tlsServerName)) request.Headers.Host = _tlsServerName;
        ct.ThrowIfCancellationRequested();
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            var content = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            throw new HttpOperationException($"the API server answered {(int)response.StatusCode} ({response.StatusCode})")
            {
                Request = new HttpRequestMessageWrapper(request, body ?? ""),
                Response = new HttpResponseMessageWrapper(response, content),
            };
        }
    }

    public void Dispose() => _http.Dispose();

    private static Uri ServerUri(string? host)
    {
        if (string.IsNullOrWhiteSpace(host)) throw new LibraryKubeConfigException("Host url must be set");
        try
        {
            var absolute = new Uri(host).AbsoluteUri;
            return new Uri(absolute.EndsWith('/') ? absolute : absolute + "/");
        }
        catch (UriFormatException e)
        {
            throw new LibraryKubeConfigException("Bad host url", e);
        }
    }

    /// <summary>The library's choice and order: a token provider (token file, exec plugin), else a static token, else basic auth.</summary>
    private static ServiceClientCredentials? Credentials(KubernetesClientConfiguration c) =>
        c.TokenProvider is not null ? new TokenCredentials(c.TokenProvider)
        : !string.IsNullOrEmpty(c.AccessToken) ? new TokenCredentials(c.AccessToken)
        : !string.IsNullOrEmpty(c.Username) ? new BasicAuthenticationCredentials { UserName = c.Username, Password = c.Password }
        : null;

    /// <summary>
    /// insecure-skip-tls-verify accepts any certificate. Otherwise the certificate must be for the server's name (or
    /// tls-server-name), which kubectl requires and KubernetesClient 21.0.8 does not check once a kubeconfig names a CA, and
    /// must chain to the kubeconfig's CA when it names one (only those roots, no revocation check), else to the machine's roots.
    /// </summary>
    private static RemoteCertificateValidationCallback? ServerCertificateCheck(KubernetesClientConfiguration c)
    {
        if (c.SkipTlsVerify) return (_, _, _, _) => true;
        if (c.SslCaCerts is not { } configured) return null; // .NET's own check: the machine's roots and the name
        var roots = new X509Certificate2Collection(configured);
        return (_, certificate, chain, errors) =>
        {
            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || certificate is null) return false;
            if (errors == SslPolicyErrors.None) return true;
            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0) return false;
            // The chain .NET built keeps the intermediates the server sent in its extra store; only its roots change.
            using var own = chain is null ? new X509Chain() : null;
            var check = chain ?? own!;
            check.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            check.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            check.ChainPolicy.CustomTrustStore.Clear();
            check.ChainPolicy.CustomTrustStore.AddRange(roots);
            return check.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
        };
    }
}
