namespace Kubestead.Metrics.Connection;

/// <summary>A metrics API's answer that got past authentication: status, body, and the server's wait for a 429 or 503.</summary>
public sealed record MetricsHttpAnswer(int Status, string Reason, string Body, TimeSpan? RetryAfter)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>" (retry after Ns)" for a throttled or unavailable answer that says when to come back, else empty.</summary>
    public string RetryNote => Status is 429 or 503 && RetryAfter is { } ra ? $" (retry after {Math.Max(0, ra.TotalSeconds):0}s)" : "";
}
