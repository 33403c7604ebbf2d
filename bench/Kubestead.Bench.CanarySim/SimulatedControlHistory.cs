using Kubestead.Analysis;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// The control's per-pod counts before the rollout (issue #29): what Prometheus holds for the stable pods when a rollout
/// starts, which the product reads for a look-back and feeds to the judges' learners (<see cref="ICanaryJudge.LearnHistory"/>).
/// All traffic is on stable (no canary exists yet), the stable pods are the rollout's own (same names), and their rate
/// states are the same process that goes on into the rollout: each pod's state in force at t = 0 began when
/// <see cref="PodRateStates.AtStart"/> says, and the states before it are drawn backwards from the same law. Counts are
/// drawn per scrape interval (a window-level draw: a scraped window of one interval holds one interval of traffic,
/// whatever the pods' scrape offsets) from the history's own generator, so the rollout's draws are unchanged.
/// Not simulated before t = 0: outages and time-varying traffic shapes (the families judged by issue #29 have neither).
/// </summary>
public sealed class SimulatedControlHistory
{
    private readonly Rng _rng;
    private readonly double _rps;
    private readonly double _p0;
    private readonly EnvironmentSpec _env;
    private readonly IReadOnlyList<string> _pods;
    private readonly PodRateStates? _states;
    private readonly double _chunkSeconds;
    // Per pod, its states going back from t = 0: (start, multiplier), newest first; the first is the one in force at 0.
    private readonly List<(double Start, double Multiplier)>[] _backward;
    // Per pod, the newest state that can overlap the next (older) chunk: chunks are drawn newest first.
    private readonly int[] _newest;
    private readonly Dictionary<long, double[]> _periodRates = new();
    // Chunk j covers [-(j + 1)·c, −j·c), newest first.
    private readonly List<PodSample[]> _chunks = new();

    public SimulatedControlHistory(ScenarioFile s, Cell cell, IReadOnlyList<string> stablePods, PodRateStates? states, Rng rng)
    {
        _rng = rng;
        _rps = cell.Rps;
        _p0 = s.P0;
        _env = cell.Environment ?? new EnvironmentSpec();
        _pods = stablePods;
        _states = states;
        _chunkSeconds = _env.Scrape?.IntervalSeconds ?? s.TickSeconds;
        _backward = stablePods.Select((_, i) => states is null
            ? new List<(double, double)>()
            : new List<(double, double)> { (states.AtStart[i].BeganSeconds, states.AtStart[i].Multiplier) }).ToArray();
        _newest = new int[stablePods.Count];
    }

    /// <summary>
    /// The windows of <paramref name="intervalSeconds"/> (whole scrape intervals, at least one) covering up to
    /// <paramref name="lookbackSeconds"/> before t = 0, oldest first; the last ends at t = 0.
    /// </summary>
    public IReadOnlyList<MetricWindow> Windows(double lookbackSeconds, double intervalSeconds)
    {
        var perWindow = Math.Max(1, (int)Math.Round(intervalSeconds / _chunkSeconds));
        var count = (int)Math.Floor(lookbackSeconds / (perWindow * _chunkSeconds) + 1e-9);
        while (_chunks.Count < count * perWindow) _chunks.Add(DrawChunk(_chunks.Count));
        var windows = new MetricWindow[count];
        for (var w = 0; w < count; w++)
        {
            // Window w counted back from t = 0 holds chunks w·m .. w·m + m − 1.
            var requests = new long[_pods.Count];
            var failures = new long[_pods.Count];
            for (var j = w * perWindow; j < (w + 1) * perWindow; j++)
                for (var i = 0; i < _pods.Count; i++)
                {
                    requests[i] += _chunks[j][i].Requests;
                    failures[i] += _chunks[j][i].Failures;
                }
            var pods = _pods.Select((name, i) => new PodSample(name, requests[i], failures[i])).ToList();
            var end = DateTimeOffset.UnixEpoch.AddSeconds(-w * perWindow * _chunkSeconds);
            windows[count - 1 - w] = new MetricWindow(end.AddSeconds(-perWindow * _chunkSeconds), end, VersionSample.Empty,
                new VersionSample(requests.Sum(), failures.Sum(), Pods: pods));
        }
        return windows;
    }

    private PodSample[] DrawChunk(int j)
    {
        var (from, to) = (-(j + 1) * _chunkSeconds, -j * _chunkSeconds);
        var left = _rng.Poisson(_rps * _chunkSeconds);
        var chunk = new PodSample[_pods.Count];
        for (var i = 0; i < _pods.Count; i++)
        {
            var n = i == _pods.Count - 1 ? left : _rng.Binomial(left, 1.0 / (_pods.Count - i));
            left -= n;
            var rate = Math.Min(1, _p0 * Multiplier(i, from, to));
            chunk[i] = new PodSample(_pods[i], n, TrafficModel.PodFailureCount(_rng, n, rate, _env.BurstMean));
        }
        return chunk;
    }

    /// <summary>Pod <paramref name="pod"/>'s mean rate multiplier over [from, to) (1 without pod effects).</summary>
    private double Multiplier(int pod, double from, double to)
    {
        if (_states is not null)
        {
            var states = _backward[pod];
            while (states[^1].Start > from)
            {
                var (multiplier, duration) = _states.DrawState(_rng);
                states.Add((states[^1].Start - duration, multiplier));
            }
            // Each state k covers [start_k, start_(k−1)) (the first up to t = 0 and beyond).
            var sum = 0.0;
            for (var k = _newest[pod]; k < states.Count; k++)
            {
                var end = k == 0 ? double.PositiveInfinity : states[k - 1].Start;
                var overlap = Math.Min(to, end) - Math.Max(from, states[k].Start);
                if (overlap > 0) sum += overlap * states[k].Multiplier;
                if (states[k].Start > from) continue;
                // This state covers the chunk's start, so it is the newest one the next (older) chunk can overlap.
                _newest[pod] = k;
                break;
            }
            return sum / (to - from);
        }
        if (_env.RateCv <= 0) return 1;
        // Rates redrawn for all pods at once every period (the environment's non-persistent pod effects).
        var period = (long)Math.Floor(from / _env.RatePeriodSeconds);
        if (!_periodRates.TryGetValue(period, out var rates))
        {
            var shape = 1 / (_env.RateCv * _env.RateCv);
            rates = _pods.Select(_ => _rng.Gamma(shape) / shape).ToArray();
            _periodRates[period] = rates;
        }
        return rates[pod];
    }
}
