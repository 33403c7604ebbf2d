namespace Kubestead.Analysis;

/// <summary>
/// The background Fail test as a mixture over start times (issues #12, #29). Component k is the single background
/// e-process started at the first window that begins at or after origin + k·spacing, and equal to 1 before that; the
/// test's e-value is E_t = Σ_k w_k·E_t^(k) + (weight of the starts not made yet).
/// <para>
/// Exact, with no cap: every component is a mixture over the same alternatives j (prior v_j) whose wealth each window
/// multiplies by a factor f_j that depends on the window's counts only (<see cref="IFactorEProcess"/>). So
/// Σ_k w_k·E^(k) = Σ_j v_j·R_j with R_j = Σ_{started k} w_k·Π_{windows since k} f_j, and R_j follows a
/// Shiryaev-Roberts-style recursion: a start adds its weight to every R_j, a window multiplies R_j by f_j. The whole
/// mixture over every start, however many, is one number per alternative (kept as log R_j).
/// </para>
/// <para>
/// Validity: whether a component starts in a window is decided from the window's start time, before its counts are
/// seen; before its start a component is 1, after it each window multiplies it by a factor of conditional mean at most 1
/// under H0. Each is a nonnegative supermartingale starting at 1, and a sum with fixed weights summing to at most 1 is
/// one too, so Ville's inequality bounds the chance that it ever reaches 2/α by α/2, however often it is read. The
/// weight started so far is kept in the state and never exceeds 1, so a state read under other options stays valid.
/// </para>
/// </summary>
public sealed class RestartMixtureEProcess : ICountEProcess
{
    private const double FormatVersion = 2;
    private const double ComponentListFormatVersion = 1;

    // log R_j of started weight whose wealth is all gone (version 1 dropped every component): exp gives 0, and unlike
    // −∞ it can be written as JSON.
    private const double NoWealth = -1e300;
    private readonly IFactorEProcess _bets;

    /// <summary>The per-window bets every component multiplies by.</summary>
    public IFactorEProcess Bets => _bets;
    private readonly RestartMixtureOptions _options;
    private readonly double[] _priors;
    private readonly double[] _logSums;
    private double _started;
    private DateTimeOffset? _origin;
    private long _next;

    /// <param name="bets">The single test whose factors every component uses (only its factors and weights are read).</param>
    public RestartMixtureEProcess(IFactorEProcess bets, RestartMixtureOptions options)
    {
        options.Validate();
        _bets = bets;
        _options = options;
        _priors = bets.AlternativeWeights.ToArray();
        _logSums = new double[_priors.Length];
    }

    public RestartMixtureOptions Options => _options;

    /// <summary>Starts made so far (the next start's index).</summary>
    public long Starts => _next;

    /// <summary>Σ_j v_j·R_j (every started component, weighted), plus the weight of the starts not made yet (each is 1 until it starts).</summary>
    public double EValue
    {
        get
        {
            var e = 1 - _started;
            if (_started <= 0) return e;
            for (var j = 0; j < _priors.Length; j++) e += _priors[j] * Math.Exp(_logSums[j]);
            return e;
        }
    }

    /// <summary>
    /// A window that begins at <paramref name="windowStart"/> is next: the starts due by then are made (several due at once,
    /// after a gap, start together with their summed weight). Call before <see cref="Observe"/>.
    /// </summary>
    public void StartDue(DateTimeOffset windowStart)
    {
        // Whole milliseconds, as the state stores it: a restored mixture then starts its components in the same windows.
        _origin ??= DateTimeOffset.FromUnixTimeMilliseconds(windowStart.ToUnixTimeMilliseconds());
        var due = (long)Math.Floor((windowStart - _origin.Value).TotalSeconds / _options.Spacing.TotalSeconds) + 1;
        if (due <= _next) return;
        _next = due;
        AddStartedWeight(1 - _options.WeightFrom(due));
    }

    public void Observe(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures)
    {
        // A window seen before any start (callers that never call StartDue): the first component starts with it.
        if (_next == 0)
        {
            _next = 1;
            AddStartedWeight(1 - _options.WeightFrom(1));
        }
        Span<double> factors = stackalloc double[_priors.Length];
        if (!_bets.LogFactors(canaryExposure, canaryFailures, controlExposure, controlFailures, factors)) return;
        for (var j = 0; j < _priors.Length; j++) _logSums[j] += factors[j];
    }

    /// <summary>Raises the weight started so far to <paramref name="target"/> (never above 1): the new starts begin at wealth 1.</summary>
    private void AddStartedWeight(double target)
    {
        var added = Math.Min(target, 1) - _started;
        if (!(added > 0)) return;
        for (var j = 0; j < _priors.Length; j++) _logSums[j] = _started > 0 ? LogAdd(_logSums[j], Math.Log(added)) : Math.Log(added);
        _started += added;
    }

    private static double LogAdd(double a, double b)
    {
        var max = Math.Max(a, b);
        return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }

    /// <summary>[version 2, origin (Unix milliseconds, −1 before the first window), next start, weight started, then log R_j per alternative].</summary>
    public double[] Save()
    {
        var s = new List<double> { FormatVersion, _origin is { } o ? o.ToUnixTimeMilliseconds() : -1, _next, _started };
        s.AddRange(_logSums);
        return s.ToArray();
    }

    /// <summary>
    /// Restores a saved mixture: this format, or the component list that version 1 saved ([1, origin, next, then per kept
    /// component its weight and log-wealths]), whose weighted sum per alternative is exactly R_j.
    /// </summary>
    public void Restore(IReadOnlyList<double> state)
    {
        var width = _priors.Length;
        var valid = state.Count >= 3 && state[2] >= 0 && (state[0] == FormatVersion
            ? state.Count == 4 + width && state[3] is >= 0 and <= 1
            : state[0] == ComponentListFormatVersion && (state.Count - 3) % (width + 1) == 0);
        if (!valid) throw new ArgumentException("saved state is not a restart mixture of this e-process", nameof(state));
        _origin = state[1] < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)state[1]);
        _next = (long)state[2];
        if (state[0] == FormatVersion)
        {
            _started = state[3];
            for (var j = 0; j < width; j++) _logSums[j] = state[4 + j];
            return;
        }
        // Version 1 dropped components; the weight of the starts made is still spent (kept or dropped), so it counts as started.
        var kept = 0.0;
        var sums = new double[width];
        for (var i = 3; i < state.Count; i += width + 1)
        {
            kept += state[i];
            for (var j = 0; j < width; j++) sums[j] += state[i] * Math.Exp(state[i + 1 + j]);
        }
        _started = Math.Min(1, Math.Max(kept, 1 - _options.WeightFrom(_next)));
        for (var j = 0; j < width; j++) _logSums[j] = sums[j] > 0 ? Math.Log(sums[j]) : NoWealth;
    }

    /// <summary>
    /// Continues a single e-process saved before the background test restarted: it becomes the first start, with its
    /// wealth; the clock of later starts begins at the next window.
    /// </summary>
    public void RestoreSingle(IReadOnlyList<double> singleLogWealth)
    {
        if (singleLogWealth.Count != _priors.Length) throw new ArgumentException("saved state does not match this e-process", nameof(singleLogWealth));
        _origin = null;
        _next = 1;
        _started = 1 - _options.WeightFrom(1);
        for (var j = 0; j < _priors.Length; j++) _logSums[j] = Math.Log(_started) + singleLogWealth[j];
    }
}
