namespace Kubestead.Metrics;

/// <summary>A metrics backend did not answer, answered an error, or answered something unreadable.</summary>
public sealed class MetricsUnavailableException(string message, Exception? inner = null)
    : KubesteadException("MetricsUnavailable", KubesteadErrorKind.Unavailable, message, null, inner);
