namespace Kubestead.Analysis;

/// <summary>An e-process on the bad-event counts of canary and control, window by window; its state is a list of doubles.</summary>
public interface ICountEProcess
{
    double EValue { get; }

    void Observe(long canaryRequests, long canaryFailures, long controlRequests, long controlFailures);

    double[] Save();

    void Restore(IReadOnlyList<double> state);
}
