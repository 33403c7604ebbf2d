using Kubestead.Rollouts;

namespace Kubestead.Controller;

/// <summary>What <c>kubestead controller</c> is told on its command line.</summary>
public sealed record ControllerHostOptions(
    ConnectionOptions Connection,
    string? Replica = null,
    IReadOnlyList<string>? Namespaces = null,
    string? HomeNamespace = null,
    int MaxConcurrentRollouts = 100,
    TimeSpan? LeaseDuration = null)
{
    /// <summary>Told of every HTTP request the replica sends (its /metrics counts them); must be cheap and must not throw.</summary>
    public Action<Kubestead.Kubernetes.ApiRequestSample>? OnApiRequest { get; init; }
}
