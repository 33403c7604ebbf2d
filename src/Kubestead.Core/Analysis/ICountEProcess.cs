namespace Kubestead.Analysis;

/// <summary>
/// An e-process on the bad-event counts of canary and control, window by window; its state is a list of doubles.
/// Exposures are request counts, possibly scaled: a canary exposure of n_c·D tests the null ratio ρ0·D (the judges widen
/// the null by the pods' learned dispersion this way, issue #29), so they are doubles.
/// </summary>
public interface ICountEProcess
{
    double EValue { get; }

    void Observe(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures);

    double[] Save();

    void Restore(IReadOnlyList<double> state);
}
