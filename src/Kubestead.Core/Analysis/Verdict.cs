namespace Kubestead.Analysis;

/// <summary>
/// The four honest answers. <see cref="InsufficientData"/> is decided from request counts and is never a pass;
/// <see cref="Error"/> (metrics unavailable) is never a pass either.
/// </summary>
public enum VerdictOutcome { Pass, Fail, InsufficientData, Error }

/// <summary>A judge's answer with the evidence behind it.</summary>
public sealed record Verdict(
    string Judge,
    string Metric,
    VerdictOutcome Outcome,
    long CanaryRequests,
    long CanaryFailures,
    long ControlRequests,
    long ControlFailures,
    double? Statistic,
    double? PValue,
    double? EValue,
    double? Effect,
    string Summary);
