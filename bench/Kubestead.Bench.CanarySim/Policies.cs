using Kubestead.Analysis;

namespace Kubestead.Bench.CanarySim;

public enum Decision { Rollback, Promote }

/// <summary>A judging policy fed tick by tick; returns a decision once it has one.</summary>
public interface IPolicy
{
    string Name { get; }
    Decision? OnTick(Tick tick);
}

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

/// <summary>Argo Rollouts AnalysisTemplate: a measurement every 5 minutes, successCondition result >= 0.95 (NaN for no
/// requests fails), failureLimit 3 (the analysis fails when failed measurements exceed 3); six measurements in 30 minutes.</summary>
public sealed class ArgoPolicy(int tickSeconds) : IPolicy
{
    private readonly int _ticksPerMeasurement = Math.Max(1, 300 / tickSeconds);
    private int _ticks, _nc, _xc, _failed, _measurements;

    public string Name => "argo";

    public Decision? OnTick(Tick t)
    {
        _nc += t.Nc;
        _xc += t.Xc;
        if (++_ticks < _ticksPerMeasurement) return null;
        var ok = _nc > 0 && (double)(_nc - _xc) / _nc >= 0.95;
        _ticks = _nc = _xc = 0;
        _measurements++;
        if (!ok && ++_failed > 3) return Decision.Rollback;
        return _measurements >= 6 ? Decision.Promote : null;
    }
}

/// <summary>
/// Kubestead's judges (the product's own Core classes): fed a window every tick; rollback on any Fail; promote when
/// every judge passes (sequential judges may pass early: their evidence is anytime-valid).
/// </summary>
public sealed class KubesteadPolicy(string name, Func<ICanaryJudge[]> judges, int windowTicks, bool promoteEarly, int ticksAtEnd,
    bool windowsEndAtWeightChanges = true, Func<IReadOnlyList<Verdict>, VerdictOutcome>? gate = null) : IPolicy
{
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
        _nc += t.Nc; _xc += t.Xc; _ns += t.Ns; _xs += t.Xs;
        for (var i = 0; i < _cb.Length; i++) { _cb[i] += t.CanaryBuckets[i]; _sb[i] += t.StableBuckets[i]; }
        if (++_ticks < windowTicks && _total < ticksAtEnd) return null;
        return Flush();
    }

    private Decision? Flush()
    {
        var window = new MetricWindow(default, default, new VersionSample(_nc, _xc, Histogram(_cb)), new VersionSample(_ns, _xs, Histogram(_sb)));
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

public static class EngineRegistry
{
    private static readonly SequentialJudgeOptions Split = new(Alpha: 0.025);

    // What a user sets in the spec (latencyThresholdMs): Istio's bucket bound above stable's p99 (~160 ms). The judge's
    // self-calibrating bound has no spec field, so the benchmark does not use it (issue #18).
    private const double LatencyThresholdMs = 250;

    /// <summary>Every engine by name; Kubestead's use the product's judges.</summary>
    public static IPolicy Create(string name, ScenarioFile s, Cell? cell = null)
    {
        var ticksAtEnd = s.TMaxSeconds / s.TickSeconds;
        var minute = Math.Max(1, 60 / s.TickSeconds);
        var window = Math.Max(1, (s.JudgeWindowSeconds ?? s.TickSeconds) / s.TickSeconds);
        var align = cell?.Environment?.WindowsEndAtWeightChanges ?? true;
        return name switch
        {
            "flagger" => new FlaggerPolicy(false, s.TickSeconds),
            "flagger-skip" => new FlaggerPolicy(true, s.TickSeconds),
            "argo" => new ArgoPolicy(s.TickSeconds),
            // Errors and latency as a two-metric gate (JudgeFactory.CreateGate): alpha 5% split, 2.5% each, each direction at half that.
            "kubestead-sequential" => new KubesteadPolicy(name, () => [new SequentialErrorRateJudge("errors", Split), new SequentialLatencyJudge("latency", Split, LatencyThresholdMs)], window, true, ticksAtEnd, align),
            // The product's default: the error-rate judge alone at alpha 5%.
            "kubestead-sequential-errors" => new KubesteadPolicy(name, () => [new SequentialErrorRateJudge("errors")], window, true, ticksAtEnd, align),
            // The per-request likelihood-ratio test that was the default before the window became the unit (issue #18):
            // kept to show what robustness to clustered failures costs on iid traffic.
            "kubestead-sequential-errors-lr" => new KubesteadPolicy(name, () => [new SequentialErrorRateJudge("errors", new SequentialJudgeOptions(Unit: EvidenceUnit.Request))], window, true, ticksAtEnd, align),
            "kubestead-threshold" => new KubesteadPolicy(name, () => [new ThresholdJudge("errors", 99, 500)], minute, false, ticksAtEnd),
            "kubestead-mann-whitney" => new KubesteadPolicy(name, () => [new MannWhitneyJudge("errors")], minute, false, ticksAtEnd),
            _ => throw new ArgumentException($"unknown engine '{name}'"),
        };
    }
}
