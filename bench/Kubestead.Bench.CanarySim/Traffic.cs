using MathNet.Numerics.Distributions;

namespace Kubestead.Bench.CanarySim;

/// <summary>What one tick (default 10 s) of traffic did: counts per version and latency histograms (exclusive bucket counts).</summary>
public sealed record Tick(double TimeSeconds, int Nc, int Xc, int Ns, int Xs, long[] CanaryBuckets, long[] StableBuckets);

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

    public TrafficModel(ScenarioFile s, Cell cell, Rng rng)
    {
        _s = s;
        _cell = cell;
        _rng = rng;
        _stableCdf = Cdf(s.LatencyMedianMs, s.LatencySigma, 0, 0);
        _canaryCdf = Cdf(s.LatencyMedianMs * cell.Fault.LatencyMultiplier, s.LatencySigma, cell.Fault.TailFraction, cell.Fault.TailExtraMs);
        _wrr = rng.NextDouble();
        if (cell.Routing == "pods")
        {
            _connectionOnCanary = new bool[s.Connections];
            for (var i = 0; i < s.Connections; i++) _connectionOnCanary[i] = PickPod();
        }
    }

    public long CanaryTotal { get; private set; }
    public long Total { get; private set; }

    public Tick Next(double t)
    {
        var dt = _s.TickSeconds;
        var n = _rng.Poisson(_cell.Rps * dt);
        int c;
        switch (_cell.Routing)
        {
            case "wrr":
                var before = Math.Floor(_wrr);
                _wrr += n * _cell.Weight;
                c = (int)(Math.Floor(_wrr) - before);
                break;
            case "pods" when _s.ConnectionLifetimeSeconds <= 0:
                // Lifetime 0: every request picks a pod uniformly, so the canary's share is its share of pods.
                c = _rng.Binomial(n, (double)_s.PodsCanary / (_s.PodsCanary + _s.PodsStable));
                break;
            case "pods":
                var keep = _s.ConnectionLifetimeSeconds <= 0 ? 0 : Math.Exp(-dt / _s.ConnectionLifetimeSeconds);
                for (var i = 0; i < _connectionOnCanary!.Length; i++)
                    if (_rng.NextDouble() >= keep) _connectionOnCanary[i] = PickPod();
                c = _rng.Binomial(n, (double)_connectionOnCanary.Count(x => x) / _connectionOnCanary.Length);
                break;
            default:
                c = _rng.Binomial(n, _cell.Weight);
                break;
        }
        var f = _cell.Fault;
        var pc = t < f.WarmUpSeconds && f.WarmUpErrorRate is { } warm ? warm
            : t >= f.OnsetSeconds ? f.AbsoluteErrorRate ?? _s.P0 * f.ErrorMultiplier : _s.P0;
        var latencyFaultOn = t >= f.OnsetSeconds;
        var xc = _rng.Binomial(c, Math.Min(1, pc));
        var xs = _rng.Binomial(n - c, _s.P0);
        CanaryTotal += c;
        Total += n;
        return new Tick(t, c, xc, n - c, xs, Buckets(c, latencyFaultOn ? _canaryCdf : _stableCdf), Buckets(n - c, _stableCdf));
    }

    private bool PickPod() => _rng.NextDouble() < (double)_s.PodsCanary / (_s.PodsCanary + _s.PodsStable);

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
