using Kubestead.Analysis;


namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Kubestead's judges (the product's own Core classes): fed a window every tick; rollback on any Fail; promote when
/// every judge passes (sequential judges may pass early: their evidence is anytime-valid). With
/// <paramref name="scraped"/> (and the scenario's <paramref name="tickSeconds"/>), a window's counts are the scraped
/// per-pod counters differenced over the window's time, as a drive reads them from Prometheus, not the ticks' exact counts.
/// </summary>
public sealed class KubesteadPolicy(string name, Func<ICanaryJudge[]> judges, int windowTicks, bool promoteEarly, int ticksAtEnd,
    bool windowsEndAtWeightChanges = true, Func<IReadOnlyList<Verdict>, VerdictOutcome>? gate = null,
    IScrapedCounts? scraped = null, double tickSeconds = 0) : IPolicy
{
    private double _windowStart;
    private double _windowEnd;
    private readonly ICanaryJudge[] _judges = judges();
    private readonly long[] _cb = new long[TrafficModel.Bounds.Length];
    private readonly long[] _sb = new long[TrafficModel.Bounds.Length];
    private int _ticks, _total, _nc, _xc, _ns, _xs;
    private double _weight = double.NaN;

    public string Name { get; } = name;

    public Decision? OnTick(Tick t)
    {
        _total++;
        // The engine ends a window at a weight write, so no window mixes two weights (issue #18).
        if (windowsEndAtWeightChanges && _ticks > 0 && !double.IsNaN(_weight) && t.Weight != _weight && Flush() is { } early) return early;
        _weight = t.Weight;
        _windowEnd = t.TimeSeconds + tickSeconds;
        _nc += t.Nc; _xc += t.Xc; _ns += t.Ns; _xs += t.Xs;
        for (var i = 0; i < _cb.Length; i++) { _cb[i] += t.CanaryBuckets[i]; _sb[i] += t.StableBuckets[i]; }
        if (++_ticks < windowTicks && _total < ticksAtEnd) return null;
        return Flush();
    }

    private Decision? Flush()
    {
        var window = scraped is null
            ? new MetricWindow(default, default, new VersionSample(_nc, _xc, Histogram(_cb)), new VersionSample(_ns, _xs, Histogram(_sb)))
            : scraped.Window(_windowStart, _windowEnd);
        _windowStart = _windowEnd;
        _ticks = _nc = _xc = _ns = _xs = 0;
        Array.Clear(_cb);
        Array.Clear(_sb);
        var verdicts = _judges.Select(j => { j.Observe(window); return j.Evaluate(); }).ToList();
        var outcome = gate?.Invoke(verdicts)
            ?? (verdicts.Any(v => v.Outcome == VerdictOutcome.Fail) ? VerdictOutcome.Fail
                : verdicts.All(v => v.Outcome == VerdictOutcome.Pass) ? VerdictOutcome.Pass : VerdictOutcome.InsufficientData);
        if (outcome == VerdictOutcome.Fail) return Decision.Rollback;
        if (outcome == VerdictOutcome.Pass && (promoteEarly || _total >= ticksAtEnd)) return Decision.Promote;
        return null;
    }

    private static LatencyHistogram Histogram(long[] exclusive)
    {
        var cumulative = new long[exclusive.Length];
        long sum = 0;
        for (var i = 0; i < exclusive.Length; i++) cumulative[i] = sum += exclusive[i];
        return new LatencyHistogram(TrafficModel.Bounds, cumulative);
    }
}
