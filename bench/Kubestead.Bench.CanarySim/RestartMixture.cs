using Kubestead.Analysis;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// An experiment, not the engine (issue #12's late-onset goal): the background test as a mixture over start times.
/// A sequential judge started at time s is an e-process that equals 1 before s; a prior-weighted sum of such processes
/// (weights summing to 1) is again a nonnegative supermartingale starting at 1, so Ville's inequality still bounds the
/// chance that the mixture ever reaches 2/α by α/2. A fault that begins late is then judged by a process that started
/// shortly before it, instead of by one whose wealth has drained over a long good stretch; the price is log(1/weight)
/// more evidence. Starts every <c>restartSeconds</c> from 0 to T_max, equal weights. Judges are the product's.
/// </summary>
public sealed class RestartMixture(Func<ICanaryJudge[]> judges, double restartSeconds, double tMaxSeconds, double threshold)
{
    private readonly List<ICanaryJudge[]> _started = new();
    private readonly double _weight = 1.0 / Math.Max(1, Math.Ceiling(tMaxSeconds / restartSeconds));
    private double _nextStart;

    /// <summary>Feeds a counted window that begins at <paramref name="start"/>; true when some metric's mixture reaches the threshold.</summary>
    public bool ObserveAndFail(double start, IReadOnlyList<MetricWindow> windows)
    {
        while (start >= _nextStart - 1e-9)
        {
            _started.Add(judges());
            _nextStart += restartSeconds;
        }
        var metrics = _started[0].Length;
        for (var j = 0; j < metrics; j++)
        {
            var mixture = 0.0;
            foreach (var set in _started)
            {
                set[j].Observe(windows[j]);
                // Statistic is log(e) of the judge's Fail test, whatever the verdict.
                mixture += _weight * Math.Exp(set[j].Evaluate().Statistic ?? 0);
            }
            if (mixture >= threshold) return true;
        }
        return false;
    }

    public int Started => _started.Count;
}
