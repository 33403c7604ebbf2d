namespace Kubestead.Kubernetes;

/// <summary>
/// How long and how often to retry a request that failed transiently (connection refused or reset, a request timeout, 5xx,
/// 429) when re-sending it cannot duplicate an effect. Managed control planes restart and throttle for minutes during
/// upgrades, so the default budget is minutes, not attempts: a driver rides out the outage instead of leaving a canary
/// undriven (docs/outages.md). <paramref name="MaxAttempts"/> bounds the count as well, for callers that must fail fast.
/// </summary>
public sealed record RetryPolicy(int MaxAttempts = int.MaxValue, TimeSpan? BaseDelay = null, TimeSpan? MaxDelay = null, TimeSpan? Budget = null)
{
    /// <summary>The default outage budget: longer than a control-plane restart or a throttling burst usually lasts.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromMinutes(5);

    public TimeSpan Base => BaseDelay ?? TimeSpan.FromMilliseconds(250);

    /// <summary>The longest backoff between two attempts (a Retry-After may ask for more; it is honoured up to the budget).</summary>
    public TimeSpan Max => MaxDelay ?? TimeSpan.FromSeconds(15);

    /// <summary>How long after a request's first failure it is still retried.</summary>
    public TimeSpan TotalBudget => Budget ?? DefaultBudget;
}
