namespace Kubestead.Analysis;

/// <summary>What one bet of a sequential judge is placed on.</summary>
public enum EvidenceUnit
{
    /// <summary>
    /// The window (default): a bet on the canary's share of the window's failures (<see cref="WindowBettingEProcess"/>).
    /// Valid whenever the expected share is at most the exposure share under the null, however failures cluster.
    /// </summary>
    Window,

    /// <summary>
    /// The request: the conditional binomial likelihood ratio (<see cref="ConditionalBinomialEProcess"/>). Slightly
    /// faster on iid failures, but its guarantee needs failures that are independent given exposure; clustered failures
    /// (overdispersion, bursts) inflate it. Kept for comparison in the benchmark.
    /// </summary>
    Request,
}
