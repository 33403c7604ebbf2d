namespace Kubestead.Kubernetes;

/// <summary>
/// The retry timing of one request (or one watch's reconnects): capped exponential backoff with equal jitter (half the
/// step fixed, half random, so delays grow for sure but clients that failed together do not retry together), a server's
/// Retry-After taken as given, and a budget counted on the caller's clock from the first failure.
/// </summary>
public sealed class RetrySchedule(RetryPolicy policy, TimeProvider clock, Func<double>? random = null)
{
    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;
    private DateTimeOffset? _firstFailure;

    /// <summary>Failures since the last success.</summary>
    public int Failures { get; private set; }

    /// <summary>How long the current run of failures has lasted.</summary>
    public TimeSpan Elapsed => _firstFailure is { } first ? clock.GetUtcNow() - first : TimeSpan.Zero;

    /// <summary>The wait before the next attempt, or null when the attempts or the budget are spent.</summary>
    public TimeSpan? NextDelay(TimeSpan? retryAfter)
    {
        _firstFailure ??= clock.GetUtcNow();
        Failures++;
        if (Failures >= policy.MaxAttempts) return null;
        var remaining = policy.TotalBudget - Elapsed;
        if (remaining <= TimeSpan.Zero) return null;
        TimeSpan delay;
        if (retryAfter is { } asked && asked > TimeSpan.Zero) delay = asked;
        else
        {
            var step = Math.Min(policy.Max.TotalMilliseconds, policy.Base.TotalMilliseconds * Math.Pow(2, Math.Min(Failures - 1, 30)));
            delay = TimeSpan.FromMilliseconds(step / 2 + _random() * step / 2);
        }
        // The last attempt lands at the end of the budget rather than giving up early or sleeping past it.
        return delay < remaining ? delay : remaining;
    }

    /// <summary>A success ends the run: the next failure starts a fresh budget.</summary>
    public void Succeeded()
    {
        Failures = 0;
        _firstFailure = null;
    }
}
