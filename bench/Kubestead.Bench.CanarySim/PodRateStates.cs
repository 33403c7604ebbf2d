namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Persistent per-pod failure-rate states (issue #29 item 1): each pod keeps a rate multiplier (gamma, mean 1, coefficient
/// of variation <c>cv</c> from pod to pod) for a random duration, log-uniform between <c>minSeconds</c> and
/// <c>maxSeconds</c>, then draws a new one. Each pod's first state began at a random time before t = 0 (random phase), so
/// state changes fall anywhere, never on the analysis window grid: the case where window factors are not independent
/// given the past (a bad pod stays bad across windows), which the grid-aligned redraws of issue #18 could not show.
/// </summary>
public sealed class PodRateStates
{
    private readonly Rng _rng;
    private readonly double _shape;
    private readonly double _minSeconds;
    private readonly double _maxSeconds;
    private readonly double[] _multiplier;
    private readonly double[] _until;

    public PodRateStates(int pods, double cv, double minSeconds, double maxSeconds, Rng rng)
    {
        if (cv <= 0) throw new ArgumentException($"rateCv must be above 0 for rate states (was {cv})", nameof(cv));
        if (minSeconds <= 0 || maxSeconds < minSeconds)
            throw new ArgumentException($"rateStateMinSeconds/rateStateMaxSeconds must satisfy 0 < min <= max (were {minSeconds}/{maxSeconds})");
        _rng = rng;
        _shape = 1 / (cv * cv);
        _minSeconds = minSeconds;
        _maxSeconds = maxSeconds;
        _multiplier = new double[pods];
        _until = new double[pods];
        var atStart = new (double Multiplier, double BeganSeconds)[pods];
        for (var i = 0; i < pods; i++)
        {
            _multiplier[i] = DrawMultiplier();
            // Random phase: the state in force at t = 0 has run for a uniform share of its duration already.
            var duration = DrawDuration();
            _until[i] = duration * (1 - _rng.NextDouble());
            atStart[i] = (_multiplier[i], _until[i] - duration);
        }
        AtStart = atStart;
    }

    /// <summary>
    /// Each pod's state in force at t = 0 and when it began (at or before 0): where the control's history before t = 0
    /// continues the same process backwards (<see cref="SimulatedControlHistory"/>).
    /// </summary>
    public IReadOnlyList<(double Multiplier, double BeganSeconds)> AtStart { get; }

    /// <summary>
    /// A new state (multiplier and duration) from <paramref name="rng"/>: the states before t = 0 are independent draws of
    /// the same law (a renewal process run backwards is the same process), from the history's own generator so the
    /// rollout's draws stay as they were.
    /// </summary>
    public (double Multiplier, double DurationSeconds) DrawState(Rng rng) =>
        (rng.Gamma(_shape) / _shape, _minSeconds * Math.Pow(_maxSeconds / _minSeconds, rng.NextDouble()));

    /// <summary>Every state drawn after t = 0, with its start and full duration (for tests of the model's statistics).</summary>
    public List<(int Pod, double StartSeconds, double Multiplier, double DurationSeconds)>? History { get; init; }

    public int Pods => _multiplier.Length;

    /// <summary>The pod's mean multiplier over [t, t + dt): states that end inside the tick count for their share of it.</summary>
    public double MeanOver(int pod, double t, double dt)
    {
        var sum = 0.0;
        var at = t;
        var end = t + dt;
        while (_until[pod] < end)
        {
            sum += _multiplier[pod] * Math.Max(0, _until[pod] - at);
            at = Math.Max(at, _until[pod]);
            var duration = DrawDuration();
            _multiplier[pod] = DrawMultiplier();
            History?.Add((pod, at, _multiplier[pod], duration));
            _until[pod] = at + duration;
        }
        sum += _multiplier[pod] * (end - at);
        return sum / dt;
    }

    private double DrawDuration() => _minSeconds * Math.Pow(_maxSeconds / _minSeconds, _rng.NextDouble());

    private double DrawMultiplier() => _rng.Gamma(_shape) / _shape;
}
