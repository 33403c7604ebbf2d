namespace Kubestead.Analysis;

/// <summary>
/// An e-process that is a prior-weighted mixture over alternatives, where each window multiplies every alternative's
/// wealth by a factor computed from that window's counts alone, never from the wealth. Components of it started at
/// different times therefore all multiply by the same factors, which is what lets <see cref="RestartMixtureEProcess"/>
/// carry a mixture over every start time as one running sum per alternative (issue #29).
/// </summary>
public interface IFactorEProcess : ICountEProcess
{
    /// <summary>The alternatives' prior weights in the mixture (summing to 1).</summary>
    IReadOnlyList<double> AlternativeWeights { get; }

    /// <summary>
    /// Writes each alternative's log factor for a window into <paramref name="logFactors"/>; false (and nothing written)
    /// when the window carries no evidence, i.e. every factor is 1.
    /// </summary>
    bool LogFactors(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures, Span<double> logFactors);
}
