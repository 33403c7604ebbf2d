using System.Globalization;
using System.Text;
using Kubestead.Analysis;

namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// Simulated traffic for one service on a (virtual) clock. Requests arrive as a Poisson process and are routed per
/// second from the route state read at that second; each version answers per its <see cref="VersionBehavior"/>.
/// Counters are cumulative and kept per second, so any window [start, end) on whole seconds is exact to the request.
/// </summary>
public sealed class TrafficSimulator
{
    /// <summary>Union of Istio's and Linkerd's default bucket bounds, so both expositions are exact.</summary>
    public static readonly double[] BucketBoundsMs =
        [0.5, 1, 2, 3, 4, 5, 10, 20, 25, 30, 40, 50, 100, 200, 250, 300, 400, 500, 1000, 2000, 2500, 3000, 4000, 5000, 10000, 30000, 60000];

    private static readonly double[] IstioBounds = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];
    private static readonly double[] LinkerdBounds = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000];

    private readonly object _gate = new();
    private readonly TrafficProfile _profile;
    private readonly Random _random;
    private readonly List<Snapshot> _snapshots = new();
    private readonly Counters _stable = new();
    private readonly Counters _canary = new();
    private readonly Counters _baseline = new();
    private readonly Counters _canarySynthetic = new();
    private readonly Counters _stableSynthetic = new();
    private readonly Counters _baselineSynthetic = new();
    private double _syntheticPerSecond;
    private double _syntheticControlPerSecond;
    private readonly List<Connection> _connections = new();
    private double _roundRobin;
    private double _roundRobinBaseline;
    private long _second;

    public TrafficSimulator(TrafficProfile profile, DateTimeOffset start)
    {
        _profile = profile;
        _random = new Random(profile.Seed);
        Start = TruncateToSecond(start);
        _snapshots.Add(Snap());
        _roundRobin = _random.NextDouble();
    }

    public DateTimeOffset Start { get; }

    public DateTimeOffset SimulatedUntil => Start.AddSeconds(_second);

    public string StableWorkload { get; init; } = "stable";
    public string CanaryWorkload { get; init; } = "canary";
    public string Namespace { get; init; } = "default";
    public string Service { get; init; } = "service";

    /// <summary>
    /// Expose a version's failure series only from its first failure on, as Envoy, Linkerd and ingress-nginx do (a
    /// <c>response_code="503"</c> series is created at the first 503); false: every series from the start, at zero.
    /// </summary>
    public bool FailureSeriesFromFirstFailure { get; set; }

    /// <summary>
    /// Expose a version's series only from its first request on, as Envoy, Linkerd and ingress-nginx do: a canary pod
    /// that started inside a window has no series at the window's start. False: every series from the start, at zero.
    /// </summary>
    public bool SeriesFromFirstRequest { get; set; }

    /// <summary>The created baseline's workload (stable's version, so stable's behaviour); null: no baseline is exposed.</summary>
    public string? BaselineWorkload { get; init; }

    /// <summary>Simulates every whole second up to <paramref name="until"/>, reading the route state once per second.</summary>
    public void AdvanceTo(DateTimeOffset until, Func<RouteState> route)
    {
        lock (_gate)
        {
            var target = (long)Math.Floor((until - Start).TotalSeconds);
            while (_second < target)
            {
                SimulateSecond(route());
                _second++;
                _snapshots.Add(Snap());
            }
        }
    }

    /// <summary>
    /// Counts for [start, end) as a judge sees them: canary against stable, or against the baseline when
    /// <paramref name="baselineControl"/>. The canary's users' requests, or with <paramref name="synthetic"/> its load
    /// test's alone; the control is always its users' (the load test sends to the canary only).
    /// </summary>
    /// <param name="syntheticControl">With <paramref name="synthetic"/>: the control's load-test requests (its own stream) instead of its users'.</param>
    public MetricWindow Window(DateTimeOffset start, DateTimeOffset end, bool baselineControl = false, bool synthetic = false, bool syntheticControl = false)
    {
        lock (_gate)
        {
            var a = At(start);
            var b = At(end);
            var control = (baselineControl, synthetic && syntheticControl) switch
            {
                (true, true) => b.BaselineSynthetic.Minus(a.BaselineSynthetic),
                (true, false) => b.Baseline.Minus(a.Baseline),
                (false, true) => b.StableSynthetic.Minus(a.StableSynthetic),
                _ => b.Stable.Minus(a.Stable),
            };
            var canary = synthetic ? b.CanarySynthetic.Minus(a.CanarySynthetic) : b.Canary.Minus(a.Canary);
            return new MetricWindow(start, end, canary.ToSample(), control.ToSample());
        }
    }

    /// <summary>
    /// A load test's rate to the canary from the next simulated second on (0 stops it). Its requests are answered with
    /// the canary's behaviour and counted apart, exposed with <see cref="LoadTestLabel"/> set to <see cref="LoadTestValue"/>
    /// as an Istio Telemetry tag override would record the marker header.
    /// </summary>
    /// <param name="controlPerSecond">The control stream's rate: requests without the route header, routed by the weights like users'.</param>
    public void SetSyntheticRate(double requestsPerSecond, double controlPerSecond = 0)
    {
        lock (_gate)
        {
            _syntheticPerSecond = Math.Max(0, requestsPerSecond);
            _syntheticControlPerSecond = Math.Max(0, controlPerSecond);
        }
    }

    /// <summary>The label the load test's requests are exposed under (the spec's <c>loadTest.metricLabel</c>) and its value (the rollout's name).</summary>
    public string LoadTestLabel { get; set; } = Kubestead.LoadTests.LoadTestSpec.DefaultMetricLabel;

    public string LoadTestValue { get; set; } = "";

    /// <summary>The canary's load-test requests and failures since the start.</summary>
    public (long Requests, long Failures) SyntheticTotals()
    {
        lock (_gate) return (_canarySynthetic.Requests, _canarySynthetic.Failures);
    }

    /// <summary>Every load-test request and failure since the start, whichever version answered it.</summary>
    public (long Requests, long Failures) AllSyntheticTotals()
    {
        lock (_gate)
            return (_canarySynthetic.Requests + _stableSynthetic.Requests + _baselineSynthetic.Requests,
                _canarySynthetic.Failures + _stableSynthetic.Failures + _baselineSynthetic.Failures);
    }

    /// <summary>The baseline's totals since the start.</summary>
    public (long Requests, long Failures) BaselineTotals()
    {
        lock (_gate) return (_baseline.Requests, _baseline.Failures);
    }

    /// <summary>Totals since the start (for the demo's summary and tests).</summary>
    public (long StableRequests, long StableFailures, long CanaryRequests, long CanaryFailures) Totals()
    {
        lock (_gate) return (_stable.Requests, _stable.Failures, _canary.Requests, _canary.Failures);
    }

    /// <summary>Prometheus text exposition under Istio's and Linkerd's metric names and labels.</summary>
    public string PrometheusText()
    {
        lock (_gate) return Exposition(_stable, _canary, _baseline, (_stableSynthetic, _canarySynthetic, _baselineSynthetic));
    }

    /// <summary>The exposition as it stood at <paramref name="at"/> (clamped to what has been simulated): what Prometheus would return for an instant query then.</summary>
    public string PrometheusTextAt(DateTimeOffset at)
    {
        lock (_gate)
        {
            var s = At(at);
            return Exposition(s.Stable, s.Canary, s.Baseline, (s.StableSynthetic, s.CanarySynthetic, s.BaselineSynthetic));
        }
    }

    private string Exposition(Counters stable, Counters canary, Counters baseline, (Counters Stable, Counters Canary, Counters Baseline) synthetic)
    {
        {
            var sb = new StringBuilder();
            sb.Append("# HELP istio_requests_total Total requests.\n# TYPE istio_requests_total counter\n");
            foreach (var (workload, version, c) in Versions(stable, canary, baseline))
            {
                var labels = $"reporter=\"destination\",destination_workload=\"{workload}\",destination_workload_namespace=\"{Namespace}\",destination_service_name=\"{Service}\",destination_version=\"{version}\"";
                sb.Append(CultureInfo.InvariantCulture, $"istio_requests_total{{{labels},response_code=\"200\"}} {c.Requests - c.Failures}\n");
                if (HasFailureSeries(c)) sb.Append(CultureInfo.InvariantCulture, $"istio_requests_total{{{labels},response_code=\"503\"}} {c.Failures}\n");
            }
            // The load test's requests: Istio's names only (a Telemetry tag override records the marker header; the other
            // meshes cannot label them, which is why a load test is refused with their metrics).
            foreach (var (workload, version, c) in Versions(synthetic.Stable, synthetic.Canary, synthetic.Baseline).Where(v => v.C.Requests > 0))
            {
                var labels = $"{IstioLabels(workload, version)},{LoadTestLabel}=\"{LoadTestValue}\"";
                sb.Append(CultureInfo.InvariantCulture, $"istio_requests_total{{{labels},response_code=\"200\"}} {c.Requests - c.Failures}\n");
                if (HasFailureSeries(c)) sb.Append(CultureInfo.InvariantCulture, $"istio_requests_total{{{labels},response_code=\"503\"}} {c.Failures}\n");
            }
            sb.Append("# HELP istio_request_duration_milliseconds Request duration.\n# TYPE istio_request_duration_milliseconds histogram\n");
            foreach (var (workload, version, c) in Versions(stable, canary, baseline))
            {
                var labels = $"reporter=\"destination\",destination_workload=\"{workload}\",destination_workload_namespace=\"{Namespace}\",destination_service_name=\"{Service}\",destination_version=\"{version}\"";
                AppendHistogram(sb, "istio_request_duration_milliseconds", labels, c, IstioBounds);
            }
            foreach (var (workload, version, c) in Versions(synthetic.Stable, synthetic.Canary, synthetic.Baseline).Where(v => v.C.Requests > 0))
                AppendHistogram(sb, "istio_request_duration_milliseconds", $"{IstioLabels(workload, version)},{LoadTestLabel}=\"{LoadTestValue}\"", c, IstioBounds);
            sb.Append("# HELP response_total Linkerd proxy responses.\n# TYPE response_total counter\n");
            foreach (var (workload, _, c) in Versions(stable, canary, baseline))
            {
                var labels = $"direction=\"inbound\",deployment=\"{workload}\",namespace=\"{Namespace}\"";
                sb.Append(CultureInfo.InvariantCulture, $"response_total{{{labels},classification=\"success\",status_code=\"200\"}} {c.Requests - c.Failures}\n");
                if (HasFailureSeries(c)) sb.Append(CultureInfo.InvariantCulture, $"response_total{{{labels},classification=\"failure\",status_code=\"503\"}} {c.Failures}\n");
            }
            sb.Append("# HELP response_latency_ms Linkerd proxy response latency.\n# TYPE response_latency_ms histogram\n");
            foreach (var (workload, _, c) in Versions(stable, canary, baseline))
                AppendHistogram(sb, "response_latency_ms", $"direction=\"inbound\",deployment=\"{workload}\",namespace=\"{Namespace}\"", c, LinkerdBounds);
            // Linkerd 1.x's prometheus telemeter: per router and client (the bound name; here the Service is named
            // like its workload, reached through the daemonset transformer as in a typical deployment).
            sb.Append("# TYPE rt:client:requests counter\n# TYPE rt:client:failures counter\n");
            foreach (var (workload, _, c) in Versions(stable, canary, baseline))
            {
                var labels = $"rt=\"outgoing\",client=\"/%/io.l5d.k8s.daemonset/linkerd/http-incoming/l5d/#/io.l5d.k8s/{Namespace}/http/{workload}\"";
                sb.Append(CultureInfo.InvariantCulture, $"rt:client:requests{{{labels}}} {c.Requests}\n");
                if (HasFailureSeries(c)) sb.Append(CultureInfo.InvariantCulture, $"rt:client:failures{{{labels}}} {c.Failures}\n");
            }
            return sb.ToString();
        }
    }

    private string IstioLabels(string workload, string version) =>
        $"reporter=\"destination\",destination_workload=\"{workload}\",destination_workload_namespace=\"{Namespace}\",destination_service_name=\"{Service}\",destination_version=\"{version}\"";

    private bool HasFailureSeries(Counters c) => !FailureSeriesFromFirstFailure || c.Failures > 0;

    private IEnumerable<(string Workload, string Version, Counters C)> Versions(Counters stable, Counters canary, Counters baseline)
    {
        IEnumerable<(string Workload, string Version, Counters C)> all =
            BaselineWorkload is { } b ? [(StableWorkload, "stable", stable), (CanaryWorkload, "canary", canary), (b, "baseline", baseline)]
                                      : [(StableWorkload, "stable", stable), (CanaryWorkload, "canary", canary)];
        return all.Where(v => !SeriesFromFirstRequest || v.C.Requests > 0);
    }

    private static void AppendHistogram(StringBuilder sb, string name, string labels, Counters c, double[] bounds)
    {
        foreach (var b in bounds)
        {
            var i = Array.IndexOf(BucketBoundsMs, b);
            sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"{b.ToString(CultureInfo.InvariantCulture)}\"}} {c.Cumulative[i]}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"+Inf\"}} {c.Requests}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{labels}}} {c.LatencySumMs.ToString("0.###", CultureInfo.InvariantCulture)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{name}_count{{{labels}}} {c.Requests}\n");
    }

    private Snapshot At(DateTimeOffset t)
    {
        var i = (long)Math.Floor((t - Start).TotalSeconds);
        if (i < 0) i = 0;
        if (i >= _snapshots.Count) i = _snapshots.Count - 1;
        return _snapshots[(int)i];
    }

    private void SimulateSecond(RouteState route)
    {
        var now = TimeSpan.FromSeconds(_second);
        // The load test's requests carry the header route's header, so every one reaches the canary; its control stream
        // has no route header and is split by the weights.
        for (var r = Poisson(_syntheticPerSecond); r > 0; r--) RecordSynthetic(_canarySynthetic, _profile.Canary, now);
        for (var r = Poisson(_syntheticControlPerSecond); r > 0; r--)
        {
            var u = _random.NextDouble();
            var (canaryShare, baselineShare) = Shares(route);
            if (u < canaryShare) RecordSynthetic(_canarySynthetic, _profile.Canary, now);
            else if (u < canaryShare + baselineShare) RecordSynthetic(_baselineSynthetic, _profile.Stable, now);
            else RecordSynthetic(_stableSynthetic, _profile.Stable, now);
        }
        var arrivals = Poisson(_profile.RequestsPerSecond);
        for (var r = 0; r < arrivals; r++)
        {
            var toBaseline = false;
            bool toCanary;
            switch (_profile.Routing)
            {
                case SimulatedRouting.Random:
                    // One draw per request as before: [0, canary) canary, [canary, canary + baseline) baseline, the rest stable.
                    var u = _random.NextDouble();
                    toCanary = u < route.CanaryShare;
                    toBaseline = !toCanary && u < route.CanaryShare + route.BaselineShare;
                    break;
                case SimulatedRouting.RoundRobin:
                    toCanary = NextRoundRobin(route.CanaryShare);
                    toBaseline = !toCanary && route.BaselineShare > 0 && NextBaselineRoundRobin(route.BaselineShare / Math.Max(1e-12, 1 - route.CanaryShare));
                    break;
                default:
                    var version = PickPod(route);
                    toCanary = version == PodVersion.Canary;
                    toBaseline = version == PodVersion.Baseline;
                    break;
            }
            if (_profile.Routing == SimulatedRouting.Pods && route.StableReadyPods + route.CanaryReadyPods + route.BaselineReadyPods == 0) continue;
            // The baseline runs stable's version, so it behaves like stable.
            var (counters, behavior) = toCanary ? (_canary, _profile.Canary) : toBaseline ? (_baseline, _profile.Stable) : (_stable, _profile.Stable);
            var (errorRate, median) = behavior.At(now);
            var failed = _random.NextDouble() < errorRate;
            var latency = median * Math.Exp(behavior.LatencySigma * Gaussian());
            counters.Record(failed, latency);
        }
    }

    private void RecordSynthetic(Counters counters, VersionBehavior behavior, TimeSpan now)
    {
        var (rate, medianMs) = behavior.At(now);
        counters.Record(_random.NextDouble() < rate, medianMs * Math.Exp(behavior.LatencySigma * Gaussian()));
    }

    /// <summary>The canary's and baseline's shares of requests with no route header: the weights, or without a mesh the ready pods.</summary>
    private (double Canary, double Baseline) Shares(RouteState route)
    {
        if (_profile.Routing != SimulatedRouting.Pods) return (route.CanaryShare, route.BaselineShare);
        double total = route.StableReadyPods + route.CanaryReadyPods + route.BaselineReadyPods;
        return total == 0 ? (0, 0) : (route.CanaryReadyPods / total, route.BaselineReadyPods / total);
    }

    private bool NextBaselineRoundRobin(double share)
    {
        var before = Math.Floor(_roundRobinBaseline);
        _roundRobinBaseline += share;
        return Math.Floor(_roundRobinBaseline) > before;
    }

    private bool NextRoundRobin(double share)
    {
        var before = Math.Floor(_roundRobin);
        _roundRobin += share;
        return Math.Floor(_roundRobin) > before;
    }

    /// <summary>A request goes out on a random client connection; the connection sticks to its pod until it expires or the pod goes away.</summary>
    private PodVersion PickPod(RouteState route)
    {
        // Without a mesh a created baseline's pods sit behind the same Service: stable, canary and baseline pods are drawn alike.
        var total = route.StableReadyPods + route.CanaryReadyPods + route.BaselineReadyPods;
        if (total == 0) return PodVersion.Stable;
        while (_connections.Count < Math.Max(1, _profile.ClientConnections)) _connections.Add(new Connection());
        var conn = _connections[_random.Next(_connections.Count)];
        var now = _second;
        var podGone = conn.Pod is { } p && p.Index >= p.Version switch
        {
            PodVersion.Canary => route.CanaryReadyPods,
            PodVersion.Baseline => route.BaselineReadyPods,
            _ => route.StableReadyPods,
        };
        if (conn.Pod is null || podGone || now >= conn.ExpiresAt)
        {
            var pick = _random.Next(total);
            conn.Pod = pick < route.StableReadyPods ? new PodRef(PodVersion.Stable, pick)
                : pick < route.StableReadyPods + route.CanaryReadyPods ? new PodRef(PodVersion.Canary, pick - route.StableReadyPods)
                : new PodRef(PodVersion.Baseline, pick - route.StableReadyPods - route.CanaryReadyPods);
            var lifetime = _profile.ConnectionLifetime.TotalSeconds;
            conn.ExpiresAt = lifetime <= 0 ? now : now + (long)Math.Ceiling(-Math.Log(1 - _random.NextDouble()) * lifetime);
        }
        return conn.Pod!.Version;
    }

    private int Poisson(double mean)
    {
        if (mean <= 0) return 0;
        if (mean > 50) return Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Gaussian()));
        var l = Math.Exp(-mean);
        var k = 0;
        var p = 1.0;
        do
        {
            k++;
            p *= _random.NextDouble();
        } while (p > l);
        return k - 1;
    }

    private double Gaussian()
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static DateTimeOffset TruncateToSecond(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset);

    private enum PodVersion { Stable, Canary, Baseline }

    private sealed record PodRef(PodVersion Version, int Index);

    private sealed class Connection
    {
        public PodRef? Pod { get; set; }
        public long ExpiresAt { get; set; }
    }

    private sealed record Snapshot(Counters Stable, Counters Canary, Counters Baseline, Counters CanarySynthetic, Counters StableSynthetic, Counters BaselineSynthetic);

    private Snapshot Snap() => new(_stable.Copy(), _canary.Copy(), _baseline.Copy(), _canarySynthetic.Copy(), _stableSynthetic.Copy(), _baselineSynthetic.Copy());

    private sealed class Counters
    {
        public long Requests;
        public long Failures;
        public double LatencySumMs;
        public long[] Cumulative = new long[BucketBoundsMs.Length];

        public void Record(bool failed, double latencyMs)
        {
            Requests++;
            if (failed) Failures++;
            LatencySumMs += latencyMs;
            for (var i = BucketBoundsMs.Length - 1; i >= 0 && latencyMs <= BucketBoundsMs[i]; i--) Cumulative[i]++;
        }

        public Counters Copy() => new() { Requests = Requests, Failures = Failures, LatencySumMs = LatencySumMs, Cumulative = (long[])Cumulative.Clone() };

        public Counters Minus(Counters o) => new()
        {
            Requests = Requests - o.Requests,
            Failures = Failures - o.Failures,
            LatencySumMs = LatencySumMs - o.LatencySumMs,
            Cumulative = Cumulative.Zip(o.Cumulative, (a, b) => a - b).ToArray(),
        };

        public VersionSample ToSample() => new(Requests, Failures,
            new LatencyHistogram(BucketBoundsMs.Append(double.PositiveInfinity).ToArray(), Cumulative.Append(Requests).ToArray()));
    }
}
