using System.Net.Security;
using System.Reflection;

namespace Kubestead.Kubernetes;

/// <summary>
/// The library's client, opened up for paths its generated API does not have (any group/version/resource, subresources,
/// watch streams, discovery): requests go through the library's own HttpClient, handlers, credentials and error type
/// (<see cref="k8s.Autorest.HttpOperationException"/>), so there is still only one client.
/// </summary>
internal sealed class KubernetesTransport : k8s.Kubernetes
{
    public KubernetesTransport(k8s.KubernetesClientConfiguration configuration, params DelegatingHandler[] handlers)
        : base(configuration, handlers)
    {
        if (!configuration.SkipTlsVerify) RequireServerName();
    }

    /// <summary>One HTTP request with the library's credentials; the response is returned once its headers arrive.</summary>
    public Task<HttpResponseMessage> SendAsync(string? body, HttpRequestMessage request, CancellationToken ct) =>
        SendRequestRaw(body ?? "", request, ct);

    /// <summary>
    /// KubernetesClient 21.0.8 checks a server certificate against the kubeconfig's CA but ignores a name mismatch when it
    /// does (its callback only looks at chain errors), so any certificate from the cluster CA would pass for any host, and
    /// tls-server-name would change nothing. kubectl refuses both. The library sets the handler up before the first request
    /// and exposes no hook after its own callback, so its callback is wrapped here: the name must match too.
    /// </summary>
    private void RequireServerName()
    {
        var property = typeof(k8s.Kubernetes).GetProperty("HttpClientHandler", BindingFlags.Instance | BindingFlags.NonPublic)
                       ?? throw new InvalidOperationException("KubernetesClient changed: its HttpClientHandler is gone; review KubernetesTransport.RequireServerName");
        if (property.GetValue(this) is not SocketsHttpHandler handler || handler.SslOptions.RemoteCertificateValidationCallback is not { } libraryCheck) return;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && libraryCheck(sender, certificate, chain, errors);
    }
}
