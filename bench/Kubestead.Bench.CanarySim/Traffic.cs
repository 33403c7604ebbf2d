using MathNet.Numerics.Distributions;

namespace Kubestead.Bench.CanarySim;

/// <summary>What one tick (default 10 s) of traffic did: counts per version and latency histograms (exclusive bucket counts).</summary>
/// <param name="Weight">The canary weight in effect during the tick (pods routing: the configured weight).</param>
/// <param name="Xc2">Canary failures of a second metric with its own failure stream (environments with two metrics).</param>
/// <param name="Xs2">Stable failures of the second metric.</param>
public sealed record Tick(double TimeSeconds, int Nc, int Xc, int Ns, int Xs, long[] CanaryBuckets, long[] StableBuckets, double Weight = double.NaN,
    int Xc2 = 0, int Xs2 = 0)
{
    /// <summary>The load test's requests this tick (<see cref="ScenarioFile.LoadTestRps"/>), counted apart from the users'.</summary>
    public LoadTestCounts LoadTest { get; init; } = LoadTestCounts.None;
}

/// <summary>One tick of a load test: its requests and failures on the canary and, with a control stream, on stable.</summary>
public sealed record LoadTestCounts(int Nc, int Xc, int Ns, int Xs)
{
    public static readonly LoadTestCounts None = new(0, 0, 0, 0);
}

/// <summary>Generates ticks for one replicate of a cell: Poisson arrivals, routing (binomial, wrr, pods), faults, latency.</summary>
public sealed class TrafficModel
{
    /// <summary>Istio's default buckets for istio_request_duration_milliseconds (the last is +Inf).</summary>
    public static readonly double[] Bounds = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, double.PositiveInfinity];

    private readonly ScenarioFile _s;
    private readonly Cell _cell;
    private readonly Rng _rng;
    private readonly double[] _stableCdf;
    private readonly double[] _canaryCdf;
    private double _wrr;
    private readonly bool[]? _connectionOnCanary;
    private readonly EnvironmentSpec _env;
    private readonly double[] _stablePodRates;
    private readonly double[] _canaryPodRates;
    private double _nextRateDraw;
    private double _outageUntil = double.NegativeInfinity;
    private readonly TrafficShape _shape;
    private readonly double _phase;
    private double _lastWeight = double.NaN;
    private readonly PodRateStates? _stableStates;
    private readonly int _podsStable;
    private readonly int _podsCanary;
    private readonly PodRateStates? _canaryStates;
    private readonly PodCountBuffer _canaryTick;
    private readonly PodCountBuffer _stableTick;

    /// <param name="historySeed">Seeds the control's history before t = 0 (<see cref="ControlHistory"/>), drawn from its
    /// own generator so that the rollout's traffic is the same with and without it.</param>
    public TrafficModel(ScenarioFile s, Cell cell, Rng rng, ulong historySeed = 0)
    {
        _s = s;
        _cell = cell;
        _rng = rng;
        _stableCdf = Cdf(s.LatencyMedianMs, s.LatencySigma, 0, 0);
        _canaryCdf = Cdf(s.LatencyMedianMs * cell.Fault.LatencyMultiplier, s.LatencySigma, cell.Fault.TailFraction, cell.Fault.TailExtraMs);
        _wrr = rng.NextDouble();
        _env = cell.Environment ?? new EnvironmentSpec();
        _podsStable = _env.PodsStable ?? s.PodsStable;
        _podsCanary = _env.PodsCanary ?? s.PodsCanary;
        _stablePodRates = Enumerable.Repeat(1.0, Math.Max(1, _podsStable)).ToArray();
        _canaryPodRates = Enumerable.Repeat(1.0, Math.Max(1, _podsCanary)).ToArray();
        _stableTick = new PodCountBuffer(_stablePodRates.Length);
        _canaryTick = new PodCountBuffer(_canaryPodRates.Length);
        if (_env.Scrape is { } scrape) Scraped = new ScrapedPodCounters(scrape, Math.Max(1, _podsStable), Math.Max(1, _podsCanary), rng);
        _shape = cell.Shape ?? new TrafficShape();
        // Drawn only for time-varying shapes, so constant-rate scenarios consume the generator exactly as before.
        _phase = _shape.IsConstant ? 0 : rng.NextDouble() * _shape.PhaseRange;
        // Drawn last and only when asked for, so scenarios without rate states consume the generator exactly as before.
        if (_env.HasRateStates)
        {
            if (_env.RateCv <= 0) throw new ArgumentException($"environment '{_env.Name}': rateStateMaxSeconds needs rateCv above 0");
            _stableStates = new PodRateStates(_stablePodRates.Length, _env.RateCv, _env.RateStateMinSeconds, _env.RateStateMaxSeconds, rng);
            _canaryStates = new PodRateStates(_canaryPodRates.Length, _env.RateCv, _env.RateStateMinSeconds, _env.RateStateMaxSeconds, rng);
        }
        if (Scraped is not null)
            ControlHistory = new SimulatedControlHistory(s, cell, Scraped.LiveStablePodNames, _stableStates, new Rng(historySeed));
        if (cell.Routing == "pods")
        {
            _connectionOnCanary = new bool[s.Connections];
            for (var i = 0; i < s.Connections; i++) _connectionOnCanary[i] = PickPod();
        }
    }

    /// <summary>The scraped per-pod counters of this replicate (environments with <see cref="EnvironmentSpec.Scrape"/>).</summary>
    public ScrapedPodCounters? Scraped { get; }

    /// <summary>Each stable pod's rate state in force at t = 0 and when it began (null without rate states; for tests).</summary>
    public IReadOnlyList<(double Multiplier, double BeganSeconds)>? StableStatesAtStart => _stableStates?.AtStart;

    /// <summary>The control's per-pod counts before t = 0, for the engines that learn from them (null without per-pod counts).</summary>
    public SimulatedControlHistory? ControlHistory { get; }

    /// <summary>Each stable pod's failure-rate multiplier over the last tick (1 for every pod without pod effects).</summary>
    public IReadOnlyList<double> StablePodRates => _stablePodRates;

    public long CanaryTotal { get; private set; }
    public long Total { get; private set; }

    /// <summary>The phase of the traffic shape drawn for this replicate.</summary>
    public double Phase => _phase;

    public Tick Next(double t, double? engineWeight = null)
    {
        var dt = _s.TickSeconds;
        var n = _rng.Poisson(_cell.Rps * dt * _shape.MeanMultiplier(t, dt, _phase));
        var weight = engineWeight ?? WeightAt(t);
        if (_env.OutageAtWeightChanges && !double.IsNaN(_lastWeight) && weight != _lastWeight) _outageUntil = t + _env.OutageSeconds;
        _lastWeight = weight;
        int c;
        switch (_cell.Routing)
        {
            case "wrr":
                var before = Math.Floor(_wrr);
                _wrr += n * weight;
                c = (int)(Math.Floor(_wrr) - before);
                break;
            case "pods" when _s.ConnectionLifetimeSeconds <= 0:
                // Lifetime 0: every request picks a pod uniformly, so the canary's share is its share of pods.
                c = _rng.Binomial(n, (double)_podsCanary / (_podsCanary + _podsStable));
                break;
            case "pods":
                var keep = _s.ConnectionLifetimeSeconds <= 0 ? 0 : Math.Exp(-dt / _s.ConnectionLifetimeSeconds);
                for (var i = 0; i < _connectionOnCanary!.Length; i++)
                    if (_rng.NextDouble() >= keep) _connectionOnCanary[i] = PickPod();
                c = _rng.Binomial(n, (double)_connectionOnCanary.Count(x => x) / _connectionOnCanary.Length);
                break;
            default:
                c = _rng.Binomial(n, weight);
                break;
        }
        var f = _cell.Fault;
        var pc = f.ErrorRateAt(t, _s.P0);
        var latencyFaultOn = t >= f.OnsetSeconds;
        int xc, xs;
        if (_env.IsIid)
        {
            xc = _rng.Binomial(c, Math.Min(1, pc));
            xs = _rng.Binomial(n - c, _s.P0);
        }
        else
        {
            var common = OutageMultiplier(t, dt);
            if (_stableStates is not null && _canaryStates is not null)
            {
                for (var i = 0; i < _stablePodRates.Length; i++) _stablePodRates[i] = _stableStates.MeanOver(i, t, dt);
                for (var i = 0; i < _canaryPodRates.Length; i++) _canaryPodRates[i] = _canaryStates.MeanOver(i, t, dt);
            }
            else if (_env.RateCv > 0 && t >= _nextRateDraw)
            {
                DrawPodRates(_stablePodRates);
                DrawPodRates(_canaryPodRates);
                _nextRateDraw = t + _env.RatePeriodSeconds;
            }
            // Scraped counters take each pod's own counts, so the per-pod series keep the pods' differences (a pod in a bad
            // state fails more on its own series, as the judge's per-pod learning needs). Pods are the live ones after this
            // tick's pod events; after a scale-down the first pods (and their rates) remain.
            Scraped?.Advance(t, dt);
            var canaryPods = Scraped?.LiveCanaryPods ?? _canaryPodRates.Length;
            var stablePods = Scraped?.LiveStablePods ?? _stablePodRates.Length;
            xc = PodFailures(c, pc * common, _canaryPodRates.AsSpan(0, canaryPods), _canaryTick, canaryPods);
            xs = PodFailures(n - c, _s.P0 * common, _stablePodRates.AsSpan(0, stablePods), _stableTick, stablePods);
            Scraped?.Add(_canaryTick.Take(canaryPods), _stableTick.Take(stablePods));
        }
        // A second metric (e.g. application-level errors beside the mesh's 5xx): its own failures at p0 on both sides;
        // the fault is on the first metric only, as when one metric regresses.
        int xc2 = 0, xs2 = 0;
        if (_env.SecondMetric)
        {
            xc2 = _rng.Binomial(c, _s.P0);
            xs2 = _rng.Binomial(n - c, _s.P0);
        }
        // Pods that all fail alike (i.i.d.): a pod's share of the failures is its share of the requests.
        if (_env.IsIid) Scraped?.Record(t, dt, c, xc, n - c, xs);
        CanaryTotal += c;
        Total += n;
        return new Tick(t, c, xc, n - c, xs, Buckets(c, latencyFaultOn ? _canaryCdf : _stableCdf), Buckets(n - c, _stableCdf), weight, xc2, xs2)
        {
            LoadTest = LoadTestTick(dt, weight, pc),
        };
    }

    /// <summary>
    /// The load test's requests: all of its main stream reach the canary (the header route), its control stream is split
    /// by the weight. Drawn last and only when asked for, so scenarios without one consume the generator exactly as before.
    /// </summary>
    private LoadTestCounts LoadTestTick(double dt, double weight, double canaryRate)
    {
        if (_s.LoadTestRps <= 0) return LoadTestCounts.None;
        var nc = _rng.Poisson(_s.LoadTestRps * dt);
        var ns = 0;
        if (_s.LoadTestControl)
        {
            var control = _rng.Poisson(_s.LoadTestRps * dt);
            var toCanary = _rng.Binomial(control, weight);
            nc += toCanary;
            ns = control - toCanary;
        }
        return new LoadTestCounts(nc, _rng.Binomial(nc, Math.Min(1, canaryRate)), ns, _rng.Binomial(ns, _s.P0));
    }

    private double WeightAt(double t)
    {
        var w = _cell.Weight;
        foreach (var step in _env.WeightSteps)
            if (t >= step.AtSeconds) w = step.Weight;
        return w;
    }

    /// <summary>Outages start as a Poisson process (mean gap OutageEverySeconds), or with each weight change, and multiply
    /// both sides' failure rates.</summary>
    private double OutageMultiplier(double t, double dt)
    {
        if (_env.OutageEverySeconds > 0 && t >= _outageUntil && _rng.NextDouble() < 1 - Math.Exp(-dt / _env.OutageEverySeconds))
            _outageUntil = t + _env.OutageSeconds;
        return t < _outageUntil ? _env.OutageMultiplier : 1;
    }

    private void DrawPodRates(double[] rates)
    {
        var shape = 1 / (_env.RateCv * _env.RateCv);
        for (var i = 0; i < rates.Length; i++) rates[i] = _rng.Gamma(shape) / shape;
    }

    /// <summary>A version's failures: its requests spread evenly over its pods, each pod at its own rate, in bursts; each
    /// pod's counts are written to <paramref name="perPod"/>.</summary>
    private int PodFailures(int requests, double rate, ReadOnlySpan<double> podRates, PodCountBuffer perPod, int pods)
    {
        perPod.Clear(pods);
        var total = 0;
        var left = requests;
        for (var i = 0; i < podRates.Length && left > 0; i++)
        {
            var ni = i == podRates.Length - 1 ? left : _rng.Binomial(left, 1.0 / (podRates.Length - i));
            left -= ni;
            perPod.Requests[i] = ni;
            perPod.Failures[i] = PodFailureCount(_rng, ni, Math.Min(1, rate * podRates[i]), _env.BurstMean);
            total += perPod.Failures[i];
        }
        return total;
    }

    /// <summary>One pod's failures among <paramref name="requests"/> at rate <paramref name="rate"/>: one by one, or in
    /// bursts (triggering requests at rate p/b, each failing itself and a geometric number more, mean size b).</summary>
    public static int PodFailureCount(Rng rng, int requests, double rate, double burstMean)
    {
        if (burstMean <= 1) return rng.Binomial(requests, rate);
        var bursts = rng.Binomial(requests, Math.Min(1, rate / burstMean));
        var failures = 0;
        for (var k = 0; k < bursts; k++)
        {
            var size = 1;
            while (rng.NextDouble() >= 1 / burstMean) size++;
            failures += size;
        }
        return Math.Min(requests, failures);
    }

    private bool PickPod() => _rng.NextDouble() < (double)_podsCanary / (_podsCanary + _podsStable);

    private long[] Buckets(int n, double[] cdf)
    {
        var counts = new long[Bounds.Length];
        var left = n;
        var prev = 0.0;
        for (var i = 0; i < Bounds.Length && left > 0; i++)
        {
            var mass = cdf[i] - prev;
            var remaining = 1 - prev;
            var k = i == Bounds.Length - 1 || remaining <= 0 ? left : _rng.Binomial(left, Math.Clamp(mass / remaining, 0, 1));
            counts[i] = k;
            left -= k;
            prev = cdf[i];
        }
        return counts;
    }

    /// <summary>P(latency ≤ bound) for a lognormal, with a fraction shifted by extra milliseconds (the tail fault).</summary>
    private static double[] Cdf(double median, double sigma, double tailFraction, double tailExtraMs) => Bounds.Select(b =>
    {
        if (double.IsPositiveInfinity(b)) return 1.0;
        double Ln(double x) => x <= 0 ? 0 : Normal.CDF(0, 1, (Math.Log(x) - Math.Log(median)) / sigma);
        return (1 - tailFraction) * Ln(b) + tailFraction * Ln(b - tailExtraMs);
    }).ToArray();

    /// <summary>histogram_quantile as Prometheus computes it: linear interpolation inside the bucket.</summary>
    public static double Quantile(long[] buckets, double q)
    {
        var total = buckets.Sum();
        if (total == 0) return double.NaN;
        var rank = q * total;
        long cumulative = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            if (cumulative + buckets[i] >= rank)
            {
                if (double.IsPositiveInfinity(Bounds[i])) return Bounds[i - 1];
                var lower = i == 0 ? 0 : Bounds[i - 1];
                return lower + (Bounds[i] - lower) * (rank - cumulative) / Math.Max(1, buckets[i]);
            }
            cumulative += buckets[i];
        }
        return Bounds[^2];
    }
}
