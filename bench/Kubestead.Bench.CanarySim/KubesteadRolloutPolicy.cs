using Kubestead.Analysis;


namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Kubestead's engine as a spec configures it (<see cref="EngineVariant"/>), with the product's judges: windows of the
/// analysis interval whose edges coincide with weight changes and step starts (or, unaligned, on a fixed clock grid);
/// traffic inside the warm-up after the canary became ready (and, if asked, after each weight change) or inside an
/// analysis step's initial delay is fed to no judge (the warm-up window ends where the warm-up does); a background judge
/// (whose Fail test restarts as the engine's does) fed every counted window until promotion aborts on Fail whatever step runs; each analysis step advances on the Pass
/// of its own judge fed only that step's windows (its Fail aborts only when there is no background judge); pause steps
/// advance after their duration; after the last step, promotion.
/// A static cell (no steps) is one analysis step at the cell's weight.
/// </summary>
public sealed class KubesteadRolloutPolicy : IPolicy
{
    private const double Eps = 1e-9;

    /// <summary>The shortest analysis interval a spec accepts.</summary>
    public const double MinimumSpecIntervalSeconds = 5;
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
    private double _previousTickWeight = double.NaN;
    private double _windowStart;
    private double _warmupUntil;
    private long _nc, _xc, _ns, _xs, _xc2, _xs2;
    private long _lnc, _lxc, _lns, _lxs;
    private readonly bool _loadTestControl;
    private readonly long[] _cb = new long[TrafficModel.Bounds.Length];
    private readonly long[] _sb = new long[TrafficModel.Bounds.Length];

    /// <param name="history">The control's per-pod counts before t = 0: every judge learns from the variant's look-back of
    /// it before the first window, as a drive primes its judges (issue #29).</param>
    public KubesteadRolloutPolicy(EngineVariant variant, ScenarioFile s, Cell cell, IScrapedCounts? scraped = null, SimulatedControlHistory? history = null)
    {
        _v = variant;
        _steps = cell.Schedule is { IsEngineDriven: true } schedule ? schedule.Steps : [new ScheduleStep { Weight = cell.Weight }];
        _tickSeconds = s.TickSeconds;
        _interval = Math.Max(s.TickSeconds, variant.IntervalSeconds ?? s.TickSeconds);
        // Issue #29 item 1: windows no user can get (below the spec's minimum, or shorter than a scrape, where counters
        // have not moved) are refused unless labelled as the limit.
        if (!variant.Limit && _interval < MinimumSpecIntervalSeconds)
            throw new ArgumentException($"engine variant '{variant.Name}': intervalSeconds {_interval} is below the spec's minimum of {MinimumSpecIntervalSeconds} s; set limit: true to keep it as a labelled limit row");
        if (!variant.Limit && cell.Environment?.Scrape is { } scrape && _interval < scrape.IntervalSeconds)
            throw new ArgumentException($"engine variant '{variant.Name}': intervalSeconds {_interval} is shorter than environment '{cell.Environment.Name}''s scrape interval ({scrape.IntervalSeconds} s); set limit: true to keep it as a labelled limit row");
        _tMax = s.TMaxSeconds;
        _scraped = scraped;
        if (variant.LoadTest && s.LoadTestRps <= 0)
            throw new ArgumentException($"engine variant '{variant.Name}' judges a load test, but the scenario sends none (loadTestRps)");
        _loadTestControl = s.LoadTestControl;
        // The engine's background test (JudgeFactory.CreateBackground): the product's judges whose Fail test restarts on
        // the engine's schedule, its prior spread over the plan's timed steps (pauses here), unless the variant overrides it.
        _background = variant.Background ? Judges(variant.BackgroundRestarts(_steps.Sum(x => x.IsAnalysis ? 0 : x.PauseSeconds ?? 0))) : null;
        _stepJudges = StepJudges();
        var lookback = variant.LookbackSeconds ?? SpecDefaultVariant.LookbackSeconds;
        if (history is not null && lookback > 0)
            foreach (var window in history.Windows(lookback, _interval))
            {
                if (_background is not null) LearnHistory(_background, window);
                LearnHistory(_stepJudges, window);
            }
        // The canary gets traffic at t = 0: the warm-up and the first step's initial delay begin there.
        _warmupUntil = Math.Max(variant.WarmupSeconds, _steps[0].IsAnalysis ? variant.InitialDelaySeconds : 0);
    }

    public string Name => _v.Name;

    /// <summary>Engine-driven weight: the current step's (static cells keep the cell's weight, which is the same).</summary>
    public double? Weight => _steps[_step].Weight;

    /// <summary>The step the engine is in (for tests).</summary>
    public int Step => _step;

    /// <summary>The current step's judges (for tests).</summary>
    public IReadOnlyList<ICanaryJudge> StepJudgesNow => _stepJudges;

    /// <summary>Windows fed to the judges and windows skipped by warm-up or initial delay (for tests).</summary>
    public int CountedWindows { get; private set; }

    public int SkippedWindows { get; private set; }

    public Decision? OnTick(Tick t)
    {
        var weightChanged = !double.IsNaN(_previousTickWeight) && t.Weight != _previousTickWeight;
        _previousTickWeight = t.Weight;
        if (weightChanged)
        {
            // Aligned: a weight in effect ends the window (the partial window before it is judged) and starts the next.
            if (_v.AlignWindows && t.TimeSeconds > _windowStart + Eps && CloseWindow(t.TimeSeconds) is { } early) return early;
            if (_v.AlignWindows) _windowStart = t.TimeSeconds;
            if (_v.WarmupAfterWeightChange) _warmupUntil = Math.Max(_warmupUntil, t.TimeSeconds + _v.WarmupSeconds);
        }
        var now = t.TimeSeconds + _tickSeconds;
        var step = _steps[_step];
        var pauseOver = !step.IsAnalysis && now - _stepStart >= step.PauseSeconds!.Value - Eps;
        if (t.TimeSeconds < _warmupUntil - Eps)
        {
            // Inside a warm-up (or an initial delay): nothing is fed to any judge; a warm-up window ends where the
            // warm-up does, so the first judged window holds no warm-up traffic (as the engine cuts it).
            if (now - _windowStart >= _interval - Eps || now >= _warmupUntil - Eps || pauseOver)
            {
                SkippedWindows++;
                _windowStart = now;
            }
            return pauseOver ? Advance(now) : null;
        }
        _nc += t.Nc; _xc += t.Xc; _ns += t.Ns; _xs += t.Xs; _xc2 += t.Xc2; _xs2 += t.Xs2;
        _lnc += t.LoadTest.Nc; _lxc += t.LoadTest.Xc; _lns += t.LoadTest.Ns; _lxs += t.LoadTest.Xs;
        for (var i = 0; i < _cb.Length; i++) { _cb[i] += t.CanaryBuckets[i]; _sb[i] += t.StableBuckets[i]; }
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
        // Window times matter to the background test (its restarts follow the clock): simulated seconds from the epoch.
        var (from, to) = (DateTimeOffset.UnixEpoch.AddSeconds(start), DateTimeOffset.UnixEpoch.AddSeconds(end));
        var window = _scraped is null
            ? new MetricWindow(from, to, new VersionSample(_nc, _xc, Histogram(_cb)), new VersionSample(_ns, _xs, Histogram(_sb)))
            : _scraped.Window(start, end) with { Start = from, End = to };
        var second = new MetricWindow(from, to, new VersionSample(_nc, _xc2), new VersionSample(_ns, _xs2));
        // The load test's window: its canary requests against its own control stream, or against stable's users.
        var synthetic = new MetricWindow(from, to, new VersionSample(_lnc, _lxc), _loadTestControl ? new VersionSample(_lns, _lxs) : new VersionSample(_ns, _xs));
        _nc = _xc = _ns = _xs = _xc2 = _xs2 = 0;
        _lnc = _lxc = _lns = _lxs = 0;
        Array.Clear(_cb);
        Array.Clear(_sb);
        _windowStart = end;
        CountedWindows++;
        if (_background is not null && Gate(_background, window, second, synthetic) == VerdictOutcome.Fail) return Decision.Rollback;
        var step = _steps[_step];
        if (!step.IsAnalysis) return null;
        var outcome = Gate(_stepJudges, window, second, synthetic);
        // With a background e-process aborting is its call (one test for the whole rollout); the step judge gates.
        if (outcome == VerdictOutcome.Fail && (_v.StepFailAborts || _background is null)) return Decision.Rollback;
        return outcome == VerdictOutcome.Pass ? Advance(end) : null;
    }

    private Decision? Advance(double now)
    {
        if (_step == _steps.Count - 1) return Decision.Promote;
        _step++;
        _stepStart = now;
        _stepJudges = CarryLearning(StepJudges(), _background ?? _stepJudges);
        // The next step starts a window here (its weight, if different, is in effect from the next tick).
        if (_v.AlignWindows)
        {
            _nc = _xc = _ns = _xs = _xc2 = _xs2 = 0;
            _lnc = _lxc = _lns = _lxs = 0;
            Array.Clear(_cb);
            Array.Clear(_sb);
            _windowStart = now;
        }
        if (_steps[_step].IsAnalysis && _v.InitialDelaySeconds > 0) _warmupUntil = Math.Max(_warmupUntil, now + _v.InitialDelaySeconds);
        return null;
    }

    /// <summary>Any Fail fails; every metric must pass, on its users' evidence or (with a load test, its sibling judges after the users') on its synthetic evidence.</summary>
    private VerdictOutcome Gate(ICanaryJudge[] judges, MetricWindow window, MetricWindow second, MetricWindow synthetic)
    {
        var metrics = _v.LoadTest ? judges.Length / 2 : judges.Length;
        var verdicts = judges.Select((j, i) =>
        {
            j.Observe(i >= metrics ? synthetic : _v.Metrics == "errors2" && i == 1 ? second : window);
            return j.Evaluate().Outcome;
        }).ToList();
        if (verdicts.Contains(VerdictOutcome.Fail)) return VerdictOutcome.Fail;
        return Enumerable.Range(0, metrics).All(m => verdicts[m] == VerdictOutcome.Pass || _v.LoadTest && verdicts[m + metrics] == VerdictOutcome.Pass)
            ? VerdictOutcome.Pass
            : VerdictOutcome.InsufficientData;
    }

    /// <summary>A history window for the judges that read the users' per-pod counts (as <see cref="Gate"/> feeds them).</summary>
    private void LearnHistory(ICanaryJudge[] judges, MetricWindow window)
    {
        var metrics = _v.LoadTest ? judges.Length / 2 : judges.Length;
        for (var i = 0; i < metrics; i++)
            if (!(_v.Metrics == "errors2" && i == 1)) judges[i].LearnHistory(window);
    }

    /// <summary>
    /// A new step's judges keep what was learned from the control (the background's, or the previous step's), with fresh
    /// evidence, as AnalysisRunner.StartStep carries it.
    /// </summary>
    private static ICanaryJudge[] CarryLearning(ICanaryJudge[] next, ICanaryJudge[] learned)
    {
        for (var i = 0; i < next.Length; i++)
            next[i].RestoreState(next[i].CarryLearning(next[i].SaveState(), learned[i].SaveState()));
        return next;
    }

    /// <summary>
    /// A step's judges. When they can abort (no background test, or a variant whose step Fail aborts) each analysis step is
    /// a fresh Fail test: the alpha is split over the steps too, as JudgeFactory.CreateGate splits it.
    /// </summary>
    private ICanaryJudge[] StepJudges() =>
        Judges(stepShare: _background is not null && !_v.StepFailAborts ? 1 : Math.Max(1, _steps.Count(x => x.IsAnalysis)));

    /// <summary>The gate's judges: K sequential metrics each at alpha/(K·stepShare), as JudgeFactory.CreateGate splits it.</summary>
    private ICanaryJudge[] Judges(RestartMixtureOptions? restarts = null, int stepShare = 1)
    {
        var options = Options() with { Restarts = restarts };
        // With a load test every metric has a synthetic sibling: K doubles, as JudgeFactory.CreateGate splits it.
        options = options with { Alpha = options.Alpha / stepShare / (_v.LoadTest ? 2 : 1) };
        ICanaryJudge[] users = _v.Metrics switch
        {
            "errors" => [new SequentialErrorRateJudge("errors", options)],
            "errors+latency" => [new SequentialErrorRateJudge("errors", options), new SequentialLatencyJudge("latency", options, 250)],
            "errors2" => [new SequentialErrorRateJudge("errors", options), new SequentialErrorRateJudge("errors-app", options)],
            _ => throw new ArgumentException($"unknown metrics '{_v.Metrics}' in engine variant '{_v.Name}'"),
        };
        if (!_v.LoadTest) return users;
        if (_v.Metrics != "errors") throw new ArgumentException($"engine variant '{_v.Name}': a load test is simulated for metrics: errors only");
        return [.. users, new SequentialErrorRateJudge("errors@loadTest", options)];
    }

    private SequentialJudgeOptions Options() =>
        new(_v.Alpha / (_v.Metrics == "errors" ? 1 : 2), _v.DetectRatio, _v.AllowedIncrease, _v.Unit == "request" ? EvidenceUnit.Request : EvidenceUnit.Window,
            PredictivePodSeconds: _v.PredictivePodSeconds, CountAwareSeconds: _v.CountAwareSeconds, FailGrid: _v.FailGrid, NoFailBand: _v.NoFailBand, FailSigmas: _v.FailSigmas, FailZ: _v.FailZ);

    private static LatencyHistogram Histogram(long[] exclusive)
    {
        var cumulative = new long[exclusive.Length];
        long sum = 0;
        for (var i = 0; i < exclusive.Length; i++) cumulative[i] = sum += exclusive[i];
        return new LatencyHistogram(TrafficModel.Bounds, cumulative);
    }
}
