namespace Kubestead.Analysis;

/// <summary>
/// How the background test restarts (issue #12): a new component e-process starts every <paramref name="Spacing"/>;
/// the first has prior weight <paramref name="FirstWeight"/>, the k-th later one (k = 1, 2, ...) has
/// (1 − FirstWeight)·c / ((k − 1 + c)(k + c)) with c = <paramref name="Scale"/>: about equal weights for the first c
/// restarts, then a slow c/k² decay, and the weights of all starts, however many, sum to 1 (the sum telescopes), so
/// no horizon has to be known. At most <paramref name="MaxComponents"/> components are kept; see
/// <see cref="RestartMixtureEProcess"/> for what dropping one does.
/// </summary>
public sealed record RestartMixtureOptions(TimeSpan Spacing, double FirstWeight, double Scale, int MaxComponents)
{
    /// <summary>The engine's background test (chosen by measurement: bench/results/settings-effects.md, "Background analysis").</summary>
    public static readonly RestartMixtureOptions Default = new(TimeSpan.FromSeconds(30), 0.5, 60, 16);

    /// <summary>Components whose wealth falls below this are dropped: one of them would need 10^4 times the growth of a fresh start.</summary>
    public const double NegligibleWealth = 1e-4;

    /// <summary>The prior weight of start <paramref name="k"/> (0 is the first).</summary>
    public double Weight(long k) => k == 0 ? FirstWeight : (1 - FirstWeight) * Scale / ((k - 1 + Scale) * (k + Scale));

    /// <summary>The weight of every start from <paramref name="k"/> on: 1 − (weights of starts 0 .. k−1).</summary>
    public double WeightFrom(long k) => k <= 0 ? 1 : (1 - FirstWeight) * Scale / (k - 1 + Scale);

    /// <summary>Throws naming the field when a value cannot make a valid mixture.</summary>
    public void Validate()
    {
        if (!(Spacing > TimeSpan.Zero)) throw new ArgumentOutOfRangeException(nameof(Spacing), Spacing, "the restart spacing must be positive");
        if (!(FirstWeight > 0 && FirstWeight < 1)) throw new ArgumentOutOfRangeException(nameof(FirstWeight), FirstWeight, "the first start's weight must lie strictly between 0 and 1");
        if (!(Scale > 0) || double.IsInfinity(Scale)) throw new ArgumentOutOfRangeException(nameof(Scale), Scale, "the weight scale must be positive and finite");
        if (MaxComponents < 1) throw new ArgumentOutOfRangeException(nameof(MaxComponents), MaxComponents, "at least one component must be kept");
    }
}

/// <summary>
/// The background Fail test as a mixture over start times (issue #12). Component k is the same e-process as the single
/// background test, started at the first window that begins at or after origin + k·spacing, and equal to 1 before that.
/// <para>
/// Validity: the decision to start a component is made from the window's start time, before its counts are seen, so a
/// component is 1 up to its start and a nonnegative supermartingale after it (each window multiplies it by a factor of
/// conditional mean at most 1 under H0): it is a nonnegative supermartingale starting at 1 over the whole rollout. A
/// prior-weighted sum with weights summing to at most 1 is again one, starting at 1, so Ville's inequality bounds the
/// chance that it ever reaches 2/α by α/2: the same false-abort bound as the single e-process, however often it is read.
/// The starts not yet made count with their weight times 1 (their value until they start), so the mixture starts at 1.
/// Dropping a component (its wealth below <see cref="RestartMixtureOptions.NegligibleWealth"/>, or the smallest weighted
/// wealth when more than <see cref="RestartMixtureOptions.MaxComponents"/> are live) leaves a sum that is at most the
/// full mixture at every time, so it crosses 2/α only if the full one does: the bound holds; only power is lost.
/// </para>
/// The cost: a fault that begins at start k is judged by a component whose evidence counts log(1/w_k) less than the
/// single test's would from zero; the gain: that component has not lost wealth over the good stretch before it.
/// State: origin, next start, and per live component its weight and log-wealths (O(MaxComponents) numbers).
/// </summary>
public sealed class RestartMixtureEProcess : ICountEProcess
{
    private const double FormatVersion = 1;
    private readonly Func<ICountEProcess> _create;
    private readonly RestartMixtureOptions _options;
    private readonly List<(double Weight, ICountEProcess Test)> _components = new();
    private DateTimeOffset? _origin;
    private long _next;
    private int _width = -1;

    public RestartMixtureEProcess(Func<ICountEProcess> create, RestartMixtureOptions options)
    {
        options.Validate();
        _create = create;
        _options = options;
    }

    public RestartMixtureOptions Options => _options;

    /// <summary>Live components (for tests and the status size bound).</summary>
    public int Components => _components.Count;

    /// <summary>Starts made so far (the next start's index).</summary>
    public long Starts => _next;

    /// <summary>Σ over live components of weight × wealth, plus the weight of the starts not made yet (each is 1 until it starts).</summary>
    public double EValue
    {
        get
        {
            var e = _options.WeightFrom(_next);
            foreach (var (w, t) in _components) e += w * t.EValue;
            return e;
        }
    }

    /// <summary>
    /// A window that begins at <paramref name="windowStart"/> is next: the starts due by then are made (several due at once,
    /// after a gap, start as one component with their summed weight). Call before <see cref="Observe"/>.
    /// </summary>
    public void StartDue(DateTimeOffset windowStart)
    {
        // Whole milliseconds, as the state stores it: a restored mixture then starts its components in the same windows.
        _origin ??= DateTimeOffset.FromUnixTimeMilliseconds(windowStart.ToUnixTimeMilliseconds());
        var due = (long)Math.Floor((windowStart - _origin.Value).TotalSeconds / _options.Spacing.TotalSeconds) + 1;
        if (due <= _next) return;
        var weight = _options.WeightFrom(_next) - _options.WeightFrom(due);
        _next = due;
        _components.Add((weight, _create()));
        Prune();
    }

    public void Observe(long canaryRequests, long canaryFailures, long controlRequests, long controlFailures)
    {
        // A window seen before any start (callers that never call StartDue): the first component starts with it.
        if (_next == 0)
        {
            _components.Add((_options.Weight(0), _create()));
            _next = 1;
        }
        foreach (var (_, t) in _components) t.Observe(canaryRequests, canaryFailures, controlRequests, controlFailures);
        Prune();
    }

    private void Prune()
    {
        _components.RemoveAll(c => c.Test.EValue < RestartMixtureOptions.NegligibleWealth);
        while (_components.Count > _options.MaxComponents)
        {
            var smallest = 0;
            for (var i = 1; i < _components.Count; i++)
                if (_components[i].Weight * _components[i].Test.EValue < _components[smallest].Weight * _components[smallest].Test.EValue) smallest = i;
            _components.RemoveAt(smallest);
        }
    }

    /// <summary>[version, origin (Unix milliseconds, −1 before the first window), next start, then per component: weight, its state...].</summary>
    public double[] Save()
    {
        var s = new List<double> { FormatVersion, _origin is { } o ? o.ToUnixTimeMilliseconds() : -1, _next };
        foreach (var (w, t) in _components)
        {
            s.Add(w);
            s.AddRange(t.Save());
        }
        return s.ToArray();
    }

    public void Restore(IReadOnlyList<double> state)
    {
        var width = Width();
        if (state.Count < 3 || state[0] != FormatVersion || (state.Count - 3) % (width + 1) != 0 || state[2] < 0)
            throw new ArgumentException("saved state is not a restart mixture of this e-process", nameof(state));
        _components.Clear();
        _origin = state[1] < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)state[1]);
        _next = (long)state[2];
        for (var i = 3; i < state.Count; i += width + 1)
        {
            var t = _create();
            t.Restore(state.Skip(i + 1).Take(width).ToList());
            _components.Add((state[i], t));
        }
    }

    /// <summary>
    /// Continues a single e-process saved before the background test restarted: it becomes the first start, with its
    /// wealth; the clock of later starts begins at the next window.
    /// </summary>
    public void RestoreSingle(IReadOnlyList<double> single)
    {
        var t = _create();
        t.Restore(single);
        _components.Clear();
        _components.Add((_options.Weight(0), t));
        _origin = null;
        _next = 1;
    }

    private int Width() => _width >= 0 ? _width : _width = _create().Save().Length;
}
