namespace Kubestead.Kubernetes;

/// <summary>
/// The library's client, opened up for paths its generated API does not have (any group/version/resource, subresources,
/// watch streams, discovery): requests go through the library's own HttpClient, handlers, credentials and error type
/// (<see cref="k8s.Autorest.HttpOperationException"/>), so there is still only one client.
/// </summary>
internal sealed class KubernetesTransport(k8s.KubernetesClientConfiguration configuration, params DelegatingHandler[] handlers)
    : k8s.Kubernetes(configuration, handlers)
{
    /// <summary>One HTTP request with the library's credentials; the response is returned once its headers arrive.</summary>
    public Task<HttpResponseMessage> SendAsync(string? body, HttpRequestMessage request, CancellationToken ct) =>
        SendRequestRaw(body ?? "", request, ct);
}
