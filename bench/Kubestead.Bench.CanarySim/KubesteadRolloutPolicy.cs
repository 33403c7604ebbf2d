using Kubestead.Analysis;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Kubestead's engine as a spec configures it (<see cref="EngineVariant"/>), with the product's judges: windows of the
/// analysis interval whose edges coincide with weight changes (or, unaligned, on a fixed clock grid); windows ending
/// within the warm-up after the canary became ready (and, if asked, after each weight change) or within an analysis
/// step's initial delay are not fed to any judge; a background judge fed every counted window until promotion aborts on
/// Fail whatever step runs; each analysis step advances on the Pass of its own judge fed only that step's windows (and
/// aborts on its Fail unless told otherwise); pause steps advance after their duration; after the last step, promotion.
/// A static cell (no steps) is one analysis step at the cell's weight.
/// </summary>
public sealed class KubesteadRolloutPolicy : IPolicy
{
    private const double Eps = 1e-9;
    private readonly EngineVariant _v;
    private readonly IReadOnlyList<ScheduleStep> _steps;
    private readonly double _tickSeconds;
    private readonly double _interval;
    private readonly double _tMax;
    private readonly ICanaryJudge[]? _background;
    private readonly IScrapedCounts? _scraped;
    private ICanaryJudge[] _stepJudges;
    private int _step;
    private double _stepStart;
    private double _lastWeightChange;
    private double _previousTickWeight = double.NaN;
    private double _windowStart;
    private double _windowWeight = double.NaN;
    private long _nc, _xc, _ns, _xs, _xc2, _xs2;
    private readonly long[] _cb = new long[TrafficModel.Bounds.Length];
    private readonly long[] _sb = new long[TrafficModel.Bounds.Length];

    public KubesteadRolloutPolicy(EngineVariant variant, ScenarioFile s, Cell cell, IScrapedCounts? scraped = null)
    {
        _v = variant;
        _steps = cell.Schedule is { IsEngineDriven: true } schedule ? schedule.Steps : [new ScheduleStep { Weight = cell.Weight }];
        _tickSeconds = s.TickSeconds;
        _interval = Math.Max(s.TickSeconds, variant.IntervalSeconds ?? s.TickSeconds);
        _tMax = s.TMaxSeconds;
        _scraped = scraped;
        _background = variant.Background ? Judges() : null;
        _stepJudges = Judges();
    }

    public string Name => _v.Name;

    /// <summary>Engine-driven weight: the current step's (static cells keep the cell's weight, which is the same).</summary>
    public double? Weight => _steps[_step].Weight;

    /// <summary>The step the engine is in (for tests).</summary>
    public int Step => _step;

    /// <summary>Windows fed to the judges and windows skipped by warm-up or initial delay (for tests).</summary>
    public int CountedWindows { get; private set; }

    public int SkippedWindows { get; private set; }

    public Decision? OnTick(Tick t)
    {
        if (!double.IsNaN(_previousTickWeight) && t.Weight != _previousTickWeight) _lastWeightChange = t.TimeSeconds;
        _previousTickWeight = t.Weight;
        // Exogenous weight changes (an environment's weight steps): aligned windows end at the write.
        if (_v.AlignWindows && t.TimeSeconds > _windowStart + Eps && !double.IsNaN(_windowWeight) && t.Weight != _windowWeight
            && CloseWindow(t.TimeSeconds) is { } early)
            return early;
        if (double.IsNaN(_windowWeight)) _windowWeight = t.Weight;
        _nc += t.Nc; _xc += t.Xc; _ns += t.Ns; _xs += t.Xs; _xc2 += t.Xc2; _xs2 += t.Xs2;
        for (var i = 0; i < _cb.Length; i++) { _cb[i] += t.CanaryBuckets[i]; _sb[i] += t.StableBuckets[i]; }
        var now = t.TimeSeconds + _tickSeconds;
        var step = _steps[_step];
        var pauseOver = !step.IsAnalysis && now - _stepStart >= step.PauseSeconds!.Value - Eps;
        var windowFull = _v.AlignWindows
            ? now - _windowStart >= _interval - Eps || pauseOver || now >= _tMax - Eps
            : IsOnGrid(now) || now >= _tMax - Eps;
        if (windowFull && CloseWindow(now) is { } decision) return decision;
        if (pauseOver && _steps[_step] == step) return Advance(now);
        return null;
    }

    private bool IsOnGrid(double now)
    {
        var k = Math.Round(now / _interval);
        return Math.Abs(now - k * _interval) < Eps;
    }

    private Decision? CloseWindow(double end)
    {
        var start = _windowStart;
        var window = _scraped is null
            ? new MetricWindow(default, default, new VersionSample(_nc, _xc, Histogram(_cb)), new VersionSample(_ns, _xs, Histogram(_sb)))
            : _scraped.Window(start, end);
        var second = new MetricWindow(default, default, new VersionSample(_nc, _xc2), new VersionSample(_ns, _xs2));
        _nc = _xc = _ns = _xs = _xc2 = _xs2 = 0;
        Array.Clear(_cb);
        Array.Clear(_sb);
        _windowStart = end;
        _windowWeight = double.NaN;
        var step = _steps[_step];
        var skipped = end <= _v.WarmupSeconds + Eps
            || (_v.WarmupAfterWeightChange && end - _lastWeightChange <= _v.WarmupSeconds + Eps)
            || (step.IsAnalysis && end - _stepStart <= _v.InitialDelaySeconds + Eps);
        if (skipped)
        {
            SkippedWindows++;
            return null;
        }
        CountedWindows++;
        if (_background is not null && Gate(_background, window, second) == VerdictOutcome.Fail) return Decision.Rollback;
        if (!step.IsAnalysis) return null;
        var outcome = Gate(_stepJudges, window, second);
        if (outcome == VerdictOutcome.Fail && (_v.StepFailAborts || _background is null)) return Decision.Rollback;
        return outcome == VerdictOutcome.Pass ? Advance(end) : null;
    }

    private Decision? Advance(double now)
    {
        if (_step == _steps.Count - 1) return Decision.Promote;
        _step++;
        _stepStart = now;
        _stepJudges = Judges();
        return null;
    }

    private VerdictOutcome Gate(ICanaryJudge[] judges, MetricWindow window, MetricWindow second)
    {
        var verdicts = judges.Select((j, i) =>
        {
            j.Observe(_v.Metrics == "errors2" && i == 1 ? second : window);
            return j.Evaluate().Outcome;
        }).ToList();
        if (verdicts.Contains(VerdictOutcome.Fail)) return VerdictOutcome.Fail;
        return verdicts.All(v => v == VerdictOutcome.Pass) ? VerdictOutcome.Pass : VerdictOutcome.InsufficientData;
    }

    /// <summary>The gate's judges: K sequential metrics each at alpha/K, as JudgeFactory.CreateGate splits it.</summary>
    private ICanaryJudge[] Judges()
    {
        var k = _v.Metrics == "errors" ? 1 : 2;
        var options = new SequentialJudgeOptions(_v.Alpha / k, _v.DetectRatio, _v.AllowedIncrease,
            _v.Unit == "request" ? EvidenceUnit.Request : EvidenceUnit.Window);
        return _v.Metrics switch
        {
            "errors" => [new SequentialErrorRateJudge("errors", options)],
            "errors+latency" => [new SequentialErrorRateJudge("errors", options), new SequentialLatencyJudge("latency", options, 250)],
            "errors2" => [new SequentialErrorRateJudge("errors", options), new SequentialErrorRateJudge("errors-app", options)],
            _ => throw new ArgumentException($"unknown metrics '{_v.Metrics}' in engine variant '{_v.Name}'"),
        };
    }

    private static LatencyHistogram Histogram(long[] exclusive)
    {
        var cumulative = new long[exclusive.Length];
        long sum = 0;
        for (var i = 0; i < exclusive.Length; i++) cumulative[i] = sum += exclusive[i];
        return new LatencyHistogram(TrafficModel.Bounds, cumulative);
    }
}
