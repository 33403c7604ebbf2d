using Kubestead.Analysis;


namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Per-pod cumulative counters as scraped (see <see cref="ScrapeSpec"/>), and the source's per-series differencing: a
/// window's count is the sum over series present (a fresh, non-stale sample within the lookback) at both edges of
/// end − start, or of the end value when the series dropped (a counter reset). A series missing at either edge (failed
/// scrape, replaced or removed pod, a pod born inside the window) counts nothing for that window, as in
/// Kubestead.Metrics.CounterSeriesDiff.
/// </summary>
public sealed class ScrapedPodCounters : IScrapedCounts
{
    private sealed class Series(string name, bool canary, double offset)
    {
        /// <summary>The pod label of the series: a replaced pod is a new pod with a new name, as in Kubernetes.</summary>
        public string Name { get; } = name;
        public bool Canary { get; } = canary;
        public double Offset { get; } = offset;
        public bool Alive { get; set; } = true;
        public long Requests { get; set; }
        public long Failures { get; set; }
        public double NextScrape { get; set; } = offset;
        public List<(double Time, long Requests, long Failures, bool Stale)> Samples { get; } = new();
    }

    private readonly ScrapeSpec _spec;
    private readonly Rng _rng;
    private readonly List<Series> _all = new();
    private readonly List<Series> _canary = new();
    private readonly List<Series> _stable = new();
    private bool _scaledDown;

    public ScrapedPodCounters(ScrapeSpec spec, int stablePods, int canaryPods, Rng rng)
    {
        _spec = spec;
        _rng = rng;
        for (var i = 0; i < canaryPods; i++) _canary.Add(NewSeries(true, 0));
        for (var i = 0; i < stablePods; i++) _stable.Add(NewSeries(false, 0));
    }

    public int LiveStablePods => _stable.Count;

    /// <summary>The live stable pods' series names (the pod label), in pod order.</summary>
    public IReadOnlyList<string> LiveStablePodNames => _stable.Select(s => s.Name).ToList();
    public int LiveCanaryPods => _canary.Count;
    public int SeriesCount => _all.Count;

    /// <summary>One tick [t, t + dt) from version totals: <see cref="Advance"/>, then the totals spread evenly over each
    /// version's live pods (for traffic whose pods all fail alike, where a pod's share of failures is its share of requests).</summary>
    public void Record(double t, double dt, int canaryRequests, int canaryFailures, int stableRequests, int stableFailures)
    {
        Advance(t, dt);
        Spread(_canary, canaryRequests, canaryFailures);
        Spread(_stable, stableRequests, stableFailures);
    }

    /// <summary>
    /// The start of tick [t, t + dt): scrapes due in it (they see the counters as of t), then pod events (scale-down,
    /// replacement). Traffic that knows each pod's counts calls this first, reads <see cref="LiveCanaryPods"/> and
    /// <see cref="LiveStablePods"/>, and adds the tick's counts with <see cref="Add"/>.
    /// </summary>
    public void Advance(double t, double dt)
    {
        foreach (var s in _all.Where(s => s.Alive))
            while (s.NextScrape < t + dt)
            {
                var ok = _spec.FailureRate <= 0 || _rng.NextDouble() >= _spec.FailureRate;
                s.Samples.Add((s.NextScrape, s.Requests, s.Failures, !ok));
                s.NextScrape += _spec.IntervalSeconds;
            }
        if (!_scaledDown && _spec.ScaleDownAtSeconds is { } at && t >= at)
        {
            _scaledDown = true;
            for (var k = 0; k < _spec.ScaleDownStablePods && _stable.Count > 1; k++) Remove(_stable, _stable.Count - 1, t);
        }
        if (_spec.ReplacementEverySeconds > 0 && _rng.NextDouble() < 1 - Math.Exp(-dt / _spec.ReplacementEverySeconds))
        {
            var i = (int)(_rng.NextDouble() * (_canary.Count + _stable.Count));
            if (i < _canary.Count) Replace(_canary, i, t);
            else Replace(_stable, i - _canary.Count, t);
        }
    }

    /// <summary>Adds one tick's counts pod by pod (index i is the i-th live pod of its version, after <see cref="Advance"/>).</summary>
    public void Add(PodTickCounts canary, PodTickCounts stable)
    {
        AddTo(_canary, canary, "canary");
        AddTo(_stable, stable, "stable");
    }

    private static void AddTo(List<Series> pods, PodTickCounts counts, string version)
    {
        if (counts.Requests.Length != pods.Count || counts.Failures.Length != pods.Count)
            throw new ArgumentException($"{version} counts are for {counts.Requests.Length} pods; {pods.Count} {version} pods are live", nameof(counts));
        for (var i = 0; i < pods.Count; i++)
        {
            pods[i].Requests += counts.Requests[i];
            pods[i].Failures += counts.Failures[i];
        }
    }

    /// <summary>Replaces a pod: its series ends (staleness marker) and a new one starts from 0 at a new scrape offset.</summary>
    public void ReplaceStablePod(int index, double t) => Replace(_stable, index, t);

    public void ReplaceCanaryPod(int index, double t) => Replace(_canary, index, t);

    /// <summary>
    /// The window [start, end] as the source reads it: version totals, and one <see cref="PodSample"/> per series present
    /// at both edges (the same differencing; the pods sum to the totals), so the judge sees each pod's own failures.
    /// </summary>
    public MetricWindow Window(double start, double end)
    {
        var canary = new List<PodSample>();
        var stable = new List<PodSample>();
        foreach (var s in _all)
        {
            if (ValueAt(s, start) is not { } a || ValueAt(s, end) is not { } b) continue;
            var dr = b.Requests >= a.Requests ? b.Requests - a.Requests : b.Requests;
            var df = b.Failures >= a.Failures && b.Requests >= a.Requests ? b.Failures - a.Failures : b.Failures;
            (s.Canary ? canary : stable).Add(new PodSample(s.Name, dr, df));
        }
        return new MetricWindow(default, default, Version(canary), Version(stable));
    }

    private static VersionSample Version(List<PodSample> pods) =>
        new(pods.Sum(p => p.Requests), pods.Sum(p => p.Failures), Pods: pods);

    private (long Requests, long Failures)? ValueAt(Series s, double time)
    {
        var samples = s.Samples;
        int lo = 0, hi = samples.Count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (samples[mid].Time <= time + 1e-9) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        if (found < 0) return null;
        var x = samples[found];
        if (x.Stale || time - x.Time > _spec.LookbackSeconds) return null;
        return (x.Requests, x.Failures);
    }

    private Series NewSeries(bool canary, double t)
    {
        // A new target is first scraped somewhere in its first interval (per-pod offsets).
        var s = new Series($"{(canary ? "canary" : "stable")}-{_all.Count}", canary, t + _rng.NextDouble() * _spec.IntervalSeconds);
        _all.Add(s);
        return s;
    }

    private void Replace(List<Series> pods, int index, double t)
    {
        End(pods[index], t);
        pods[index] = NewSeries(pods[index].Canary, t);
    }

    private void Remove(List<Series> pods, int index, double t)
    {
        End(pods[index], t);
        pods.RemoveAt(index);
    }

    private static void End(Series s, double t)
    {
        s.Alive = false;
        s.Samples.Add((t, s.Requests, s.Failures, true));
    }

    /// <summary>Spreads a version's requests evenly over its pods and its failures in proportion (multivariate hypergeometric
    /// approximated by sequential binomials).</summary>
    private void Spread(List<Series> pods, int requests, int failures)
    {
        int leftN = requests, leftX = failures;
        for (var i = 0; i < pods.Count; i++)
        {
            var last = i == pods.Count - 1;
            var ni = last ? leftN : _rng.Binomial(leftN, 1.0 / (pods.Count - i));
            var xi = last ? Math.Min(leftN, leftX) : Math.Min(ni, _rng.Binomial(leftX, leftN == 0 ? 0 : (double)ni / leftN));
            pods[i].Requests += ni;
            pods[i].Failures += xi;
            leftN -= ni;
            leftX -= xi;
        }
    }
}
