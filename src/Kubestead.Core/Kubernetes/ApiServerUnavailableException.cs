namespace Kubestead.Kubernetes;

/// <summary>
/// A request that kept failing transiently (no connection, no answer in time, 5xx, 429) until its retry budget ran out.
/// Nothing is known about the cluster beyond what was last read: callers must not take it for a refusal of the request.
/// </summary>
public sealed class ApiServerUnavailableException(KubernetesApiException last, string message, TimeSpan outage, int attempts)
    : KubernetesApiException(last.StatusCode, last.Reason, message, last.Target, last.Causes, last.RetryAfter, last)
{
    /// <summary>How long the server had been failing this request when the client gave up.</summary>
    public TimeSpan Outage { get; } = outage;

    public int Attempts { get; } = attempts;
}
