using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// The sequential test on slow requests: those above a latency threshold, counted from histogram buckets. The
/// threshold is given (the spec's <c>latencyThresholdMs</c>), or, for callers of this class only (no spec field), fixed
/// once as the bucket bound at control's p99 after 200 control requests, testing only the windows after that; both
/// sides are then counted against the same bucket bound, so bucket resolution cannot favour one side.
/// </summary>
public sealed class SequentialLatencyJudge(string metric, SequentialJudgeOptions? options = null, double? thresholdMs = null)
    : SequentialCountJudge(metric, options ?? new SequentialJudgeOptions())
{
    private const long CalibrationRequests = 200;
    private double? _boundMs = thresholdMs;
    private LatencyHistogram? _calibration;

    public override string Name => "sequential-latency";

    protected override string EventName => "slow request";

    public double? ThresholdMs => _boundMs;

    protected override (long Nc, long Xc, long Ns, long Xs)? Count(MetricWindow w)
    {
        if (w.Canary.Latency is not { } c || w.Control.Latency is not { } s) return null;
        if (_boundMs is null)
        {
            _calibration = _calibration is null ? s : Add(_calibration, s);
            if (_calibration.Total < CalibrationRequests) return null;
            _boundMs = Quantile(_calibration, 0.99);
            // The windows that chose the bound are not tested against it (that would be double dipping: the bound sits
            // at control's own p99 in exactly those windows); testing starts with the next window.
            return null;
        }
        return (c.Total, Above(c, _boundMs.Value), s.Total, Above(s, _boundMs.Value));
    }

    /// <summary>Requests slower than the smallest bucket bound at or above <paramref name="ms"/>.</summary>
    internal static long Above(LatencyHistogram h, double ms)
    {
        for (var i = 0; i < h.UpperBoundsMs.Count; i++)
            if (h.UpperBoundsMs[i] >= ms) return h.Total - h.CumulativeCounts[i];
        return 0;
    }

    /// <summary>The bucket bound at which the cumulative share first reaches q.</summary>
    internal static double Quantile(LatencyHistogram h, double q)
    {
        var target = q * h.Total;
        for (var i = 0; i < h.UpperBoundsMs.Count; i++)
            if (h.CumulativeCounts[i] >= target && !double.IsPositiveInfinity(h.UpperBoundsMs[i])) return h.UpperBoundsMs[i];
        return h.UpperBoundsMs.Where(b => !double.IsPositiveInfinity(b)).DefaultIfEmpty(double.MaxValue).Max();
    }

    private static LatencyHistogram Add(LatencyHistogram a, LatencyHistogram b) =>
        new(a.UpperBoundsMs, a.CumulativeCounts.Zip(b.CumulativeCounts, (x, y) => x + y).ToArray());

    protected override void SaveExtra(JsonObject state)
    {
        if (_boundMs is { } b) state["thresholdMs"] = b;
    }

    protected override void RestoreExtra(JsonObject state)
    {
        if (state["thresholdMs"] is { } t) _boundMs = t.GetValue<double>();
    }
}
