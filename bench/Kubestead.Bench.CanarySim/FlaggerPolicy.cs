namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Flagger: one check per minute, success rate >= 99% and p99 <= 500 ms; an empty minute is a failed check ("no values
/// found" for NaN); roll back at 5 failed checks (cumulative), promote after 10 passing checks. flagger-skip ignores
/// empty minutes instead.
/// </summary>
public sealed class FlaggerPolicy(bool skipEmpty, int tickSeconds) : IPolicy
{
    private readonly int _ticksPerCheck = Math.Max(1, 60 / tickSeconds);
    private readonly long[] _buckets = new long[TrafficModel.Bounds.Length];
    private int _ticks, _nc, _xc, _failed, _passed;

    public string Name => skipEmpty ? "flagger-skip" : "flagger";

    public Decision? OnTick(Tick t)
    {
        _nc += t.Nc;
        _xc += t.Xc;
        for (var i = 0; i < _buckets.Length; i++) _buckets[i] += t.CanaryBuckets[i];
        if (++_ticks < _ticksPerCheck) return null;
        bool? ok = _nc == 0 ? (skipEmpty ? null : false)
            : 100.0 * (_nc - _xc) / _nc >= 99 && TrafficModel.Quantile(_buckets, 0.99) <= 500;
        _ticks = _nc = _xc = 0;
        Array.Clear(_buckets);
        if (ok == true && ++_passed >= 10) return Decision.Promote;
        if (ok == false && ++_failed >= 5) return Decision.Rollback;
        return null;
    }
}
