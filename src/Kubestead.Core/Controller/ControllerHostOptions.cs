using Kubestead.Rollouts;

namespace Kubestead.Controller;

/// <summary>What <c>kubestead controller</c> is told on its command line.</summary>
public sealed record ControllerHostOptions(
    ConnectionOptions Connection,
    string? Replica = null,
    IReadOnlyList<string>? Namespaces = null,
    string? HomeNamespace = null,
    int MaxConcurrentRollouts = 100,
    TimeSpan? LeaseDuration = null);
