namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Flagger with <c>stepWeights</c> (a schedule's weights; Flagger has no pauses): one check per
/// 1-minute interval, success rate >= 99% and p99 <= 500 ms; a passing check moves to the next weight, and a passing
/// check at the last weight promotes; a failed check (an empty minute included) counts toward the threshold of 5
/// (cumulative), at which it rolls back.
/// </summary>
public sealed class FlaggerStepPolicy(IReadOnlyList<double> weights, int tickSeconds) : IPolicy
{
    private readonly int _ticksPerCheck = Math.Max(1, 60 / tickSeconds);
    private readonly long[] _buckets = new long[TrafficModel.Bounds.Length];
    private int _ticks, _nc, _xc, _failed, _step;

    public string Name => "flagger";

    public double? Weight => weights[_step];

    public Decision? OnTick(Tick t)
    {
        _nc += t.Nc;
        _xc += t.Xc;
        for (var i = 0; i < _buckets.Length; i++) _buckets[i] += t.CanaryBuckets[i];
        if (++_ticks < _ticksPerCheck) return null;
        var ok = _nc > 0 && 100.0 * (_nc - _xc) / _nc >= 99 && TrafficModel.Quantile(_buckets, 0.99) <= 500;
        _ticks = _nc = _xc = 0;
        Array.Clear(_buckets);
        if (!ok) return ++_failed >= 5 ? Decision.Rollback : null;
        if (_step == weights.Count - 1) return Decision.Promote;
        _step++;
        return null;
    }
}
