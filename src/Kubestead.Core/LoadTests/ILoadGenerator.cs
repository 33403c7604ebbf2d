namespace Kubestead.LoadTests;

/// <summary>One load test to run: whose it is and what to send.</summary>
public sealed record LoadTestRun(string Namespace, string Rollout, LoadTestSpec Spec);

/// <summary>What a load test sent: requests, answers (any status), server errors (5xx) among them, and requests that got no answer.</summary>
public sealed record LoadTestTally(long Sent, long Answered, long ServerErrors, long Unanswered)
{
    public static readonly LoadTestTally None = new(0, 0, 0, 0);

    public LoadTestTally Plus(LoadTestTally o) => new(Sent + o.Sent, Answered + o.Answered, ServerErrors + o.ServerErrors, Unanswered + o.Unanswered);
}

/// <summary>
/// Sends a load test's requests: over HTTP (<see cref="HttpLoadGenerator"/>), or into the sandbox's traffic simulator.
/// The engine's judges never read what it returns (the metrics count the canary's answers); the tally is for the log.
/// </summary>
public interface ILoadGenerator
{
    /// <summary>
    /// Sends until <paramref name="ct"/> is cancelled, then waits for the requests still in flight (cancelled with it)
    /// and returns. Nothing it started may still run when the returned task completes.
    /// </summary>
    Task<LoadTestTally> RunAsync(LoadTestRun run, CancellationToken ct);
}
