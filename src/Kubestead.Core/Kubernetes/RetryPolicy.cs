namespace Kubestead.Kubernetes;

/// <summary>Retry settings for transient failures (429, 5xx, dropped connections) on requests that cannot duplicate an effect.</summary>
public sealed record RetryPolicy(int MaxAttempts = 5, TimeSpan? BaseDelay = null, TimeSpan? MaxDelay = null)
{
    public TimeSpan Base => BaseDelay ?? TimeSpan.FromMilliseconds(200);
    public TimeSpan Max => MaxDelay ?? TimeSpan.FromSeconds(10);
}
