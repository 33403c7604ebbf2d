using Kubestead.Analysis;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// Counts per version from Prometheus: cumulative counters read at the window's start and end (instant queries) and
/// differenced series by series, which is exact to the request where <c>increase()</c> would extrapolate, and which a
/// series appearing or vanishing (failed scrape, pod replaced or scaled down) cannot turn into lifetime totals.
/// Queries must therefore return counters per pod (builtins are summed by pod here, never across pods; never
/// rate/irate/increase). A window costs 4 queries per version, 6 when a judge reads latency. Istio's metrics are read with
/// reporter="destination" by workload, Linkerd's inbound proxy metrics by deployment; a custom pair of queries
/// serves clusters without a mesh. A catch-up over several windows reads every edge with one range query per query
/// (<see cref="PrefetchAsync"/>), which Prometheus evaluates exactly as the instant queries it replaces. Before the
/// analysis begins, the control's history is read the same way (<see cref="ControlHistoryAsync"/>).
/// </summary>
public sealed class PrometheusMetricSource(PrometheusClient client, PrometheusProviderSpec provider, string ns, string canary, string control)
    : IMetricWindowPrefetch, IScrapeIntervalSource, IControlHistory
{
    /// <summary>
    /// Prometheus answers at most 11,000 points per series (windows + 1 per range query): a longer look-back keeps its most
    /// recent windows (at the shortest interval, 5 s, 13.9 hours), so the history stays one request per query.
    /// </summary>
    public const int MaxHistoryWindows = 10_000;

    /// <summary>Prometheus answers at most 11,000 points per series; a longer catch-up reads the rest window by window.</summary>
    public const int MaxPrefetchWindows = 1000;

    /// <summary>Instant vectors read ahead by <see cref="PrefetchAsync"/>, by query and evaluation time (unix ms).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Query, long AtMs), IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> _prefetched = new();

    /// <summary>
    /// ingress-nginx: the stable Ingress whose requests are counted. The controller labels a request routed by the canary
    /// Ingress with the stable Ingress's <c>ingress</c> and <c>service</c> and a non-empty <c>canary</c> label (the canary
    /// upstream), so versions are told apart by <c>canary</c>, not by <c>service</c>.
    /// </summary>
    public string? Ingress { get; init; }

    /// <summary>
    /// With a load test (istio builtin only): the label its marker header is recorded in and the rollout's value of it.
    /// The canary is read with only the synthetic requests (<see cref="LoadTests.LoadTestTraffic.Synthetic"/>) or only
    /// the users'; the control always with the users' alone.
    /// </summary>
    public LoadTests.LoadTestTraffic? LoadTest { get; init; }

    /// <summary>Read latency buckets (a judge reads them); false: 4 of a window's 12 queries, the largest, are skipped.</summary>
    public bool WithLatency { get; init; } = true;

    /// <summary>
    /// The pods (per workload) this source has seen a series of in any window so far. A pod that had no series at a
    /// window's start and was never seen before started inside the window, so its counters began at zero (issue #25).
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Workload, string Pod), bool> _seenPods = new();

    public async Task<MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var c = await SampleAsync(canary, start, end, ct).ConfigureAwait(false);
        var s = await SampleAsync(control, start, end, ct).ConfigureAwait(false);
        // Edges before this window's end are never read again (the next window starts at its end).
        var doneMs = end.ToUnixTimeMilliseconds();
        foreach (var key in _prefetched.Keys.Where(k => k.AtMs < doneMs).ToList()) _prefetched.TryRemove(key, out _);
        return new MetricWindow(start, end, c, s);
    }

    public async Task PrefetchAsync(DateTimeOffset from, TimeSpan interval, int windows, CancellationToken ct)
    {
        _prefetched.Clear();
        windows = Math.Min(windows, MaxPrefetchWindows);
        if (windows < 1 || interval <= TimeSpan.Zero) return;
        foreach (var workload in new[] { canary, control })
        {
            var (requests, failures, buckets) = Aggregated(Queries(workload));
            foreach (var query in buckets is not null && WithLatency ? new[] { requests, failures, buckets } : [requests, failures])
                foreach (var (atMs, vector) in await client.QueryRangeAsync(query, from, interval, windows, ct).ConfigureAwait(false))
                    _prefetched[(query, atMs)] = vector;
        }
    }

    /// <summary>A load test's own control stream (<c>loadTest.control</c>) runs only during analysis steps: it has no history.</summary>
    public bool HasControlHistory => LoadTest is not { Synthetic: true, SyntheticControl: true };

    /// <summary>
    /// The control's per-pod counts in the <paramref name="windows"/> windows before <paramref name="end"/> (at most
    /// <see cref="MaxHistoryWindows"/>, the most recent): one range request each for its requests and failures queries,
    /// the same queries its judged windows read (builtins summed by pod), stepped by the interval, differenced pod by pod
    /// (<see cref="ControlHistoryWindows"/>). The canary is not read: it did not serve before the analysis.
    /// </summary>
    public async Task<IReadOnlyList<MetricWindow>> ControlHistoryAsync(DateTimeOffset end, TimeSpan interval, int windows, CancellationToken ct)
    {
        windows = Math.Min(windows, MaxHistoryWindows);
        if (windows < 1 || interval <= TimeSpan.Zero) return [];
        var (requestsQuery, failuresQuery, _) = Aggregated(Queries(control));
        var first = end - interval * windows;
        var requests = await client.QueryRangeSeriesAsync(requestsQuery, first, interval, windows, ct).ConfigureAwait(false);
        var failures = await client.QueryRangeSeriesAsync(failuresQuery, first, interval, windows, ct).ConfigureAwait(false);
        return ControlHistoryWindows.FromSeries(requests, failures, first, interval, windows);
    }

    /// <summary>
    /// The largest scrape interval among the active targets that are pods of the canary or its control (by the
    /// <c>namespace</c> and <c>pod</c> labels the builtin queries' series carry); when none is, the largest among the
    /// namespace's active targets (ingress-nginx's and Linkerd 1's series come from proxies whose pods are not the
    /// workloads'). Largest, because a window must hold a scrape of every series it differences.
    /// </summary>
    public async Task<ScrapeIntervalReading> ReadScrapeIntervalAsync(CancellationToken ct)
    {
        IReadOnlyList<PrometheusScrapeTarget> targets;
        try
        {
            targets = await client.ActiveTargetsAsync(ct).ConfigureAwait(false);
        }
        catch (MetricsUnavailableException e)
        {
            return new ScrapeIntervalReading(null, $"the scrape interval could not be read from /api/v1/targets ({e.Message})");
        }
        var inNamespace = targets.Where(t => t.ScrapeInterval is not null && t.Namespace == ns).ToList();
        var pods = new System.Text.RegularExpressions.Regex(
            $"^(?:{System.Text.RegularExpressions.Regex.Escape(canary)}|{System.Text.RegularExpressions.Regex.Escape(control)})-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}$");
        var ofWorkloads = inNamespace.Where(t => t.Pod is { } pod && pods.IsMatch(pod)).ToList();
        if (ofWorkloads.Count > 0)
            return new ScrapeIntervalReading(ofWorkloads.Max(t => t.ScrapeInterval), $"the largest scrape interval of the {ofWorkloads.Count} active targets that are pods of {control} or {canary}");
        if (inNamespace.Count > 0)
            return new ScrapeIntervalReading(inNamespace.Max(t => t.ScrapeInterval),
                $"no active target is a pod of {control} or {canary}: the largest scrape interval of the {inNamespace.Count} active targets in namespace {ns}");
        return new ScrapeIntervalReading(null, $"/api/v1/targets lists no active target in namespace {ns} with a scrape interval");
    }

    private Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> ReadAsync(string query, DateTimeOffset at, CancellationToken ct) =>
        _prefetched.TryGetValue((query, at.ToUnixTimeMilliseconds()), out var vector) ? Task.FromResult(vector) : client.QueryAsync(query, at, ct);

    /// <summary>One workload's counts in the window, differenced series by series (<see cref="CounterSeriesDiff"/>).</summary>
    private async Task<VersionSample> SampleAsync(string workload, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var (requestsQuery, failuresQuery, bucketsQuery) = Aggregated(Queries(workload));
        var requestsAtStart = await ReadAsync(requestsQuery, start, ct).ConfigureAwait(false);
        var requestsAtEnd = await ReadAsync(requestsQuery, end, ct).ConfigureAwait(false);
        // A pod first seen now, with no series at the start, started inside the window (a data plane creates a pod's
        // series at its first request): it counts from zero. One seen before but absent at the start was missed by
        // that scrape, and its value may hold earlier traffic: left out.
        var atStart = CounterSeriesDiff.Pods(requestsAtStart);
        var started = CounterSeriesDiff.Pods(requestsAtEnd).Where(p => !atStart.Contains(p) && !_seenPods.ContainsKey((workload, p))).ToHashSet(StringComparer.Ordinal);
        foreach (var p in atStart.Concat(CounterSeriesDiff.Pods(requestsAtEnd))) _seenPods[(workload, p)] = true;
        // Per pod as well as in total: the sequential judges learn the pods' persistent dispersion from the control's (issue #29).
        var requestsByPod = CounterSeriesDiff.Diff(requestsAtStart, requestsAtEnd, CounterSeriesDiff.PodOf, started);
        var requests = requestsByPod.Values.Sum();
        // A pod that served requests at the start was scraped then: a failure or bucket series of it born since counts from zero.
        var scraped = atStart.Concat(started).ToHashSet(StringComparer.Ordinal);
        var failuresByPod = CounterSeriesDiff.Diff(await ReadAsync(failuresQuery, start, ct).ConfigureAwait(false),
            await ReadAsync(failuresQuery, end, ct).ConfigureAwait(false), CounterSeriesDiff.PodOf, scraped);
        var failures = failuresByPod.Values.Sum();
        LatencyHistogram? latency = null;
        if (bucketsQuery is not null && WithLatency)
        {
            var byLe = CounterSeriesDiff.Diff(await ReadAsync(bucketsQuery, start, ct).ConfigureAwait(false),
                await ReadAsync(bucketsQuery, end, ct).ConfigureAwait(false), l => l.TryGetValue("le", out var le) ? le : "", scraped);
            var points = byLe.Where(p => p.Key.Length > 0)
                .Select(p => (Le: p.Key == "+Inf" ? double.PositiveInfinity : BucketScaleToMs * double.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture), p.Value))
                .OrderBy(p => p.Le).ToList();
            if (points.Count > 0) latency = new LatencyHistogram(points.Select(p => p.Le).ToArray(), points.Select(p => (long)Math.Round(p.Value)).ToArray());
        }
        var r = (long)Math.Round(requests);
        var pods = requestsByPod.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => new PodSample(p.Key, (long)Math.Round(p.Value), Math.Min((long)Math.Round(failuresByPod.GetValueOrDefault(p.Key)), (long)Math.Round(p.Value))))
            .ToList();
        return new VersionSample(r, Math.Min((long)Math.Round(failures), r), latency, pods);
    }

    /// <summary>
    /// Builtin queries summed by pod in Prometheus: a pod's series (one per response code, source workload, ...) come
    /// back as one, which keeps the per-pod differencing of <see cref="CounterSeriesDiff"/> (a pod that vanishes is left
    /// out, not read as a reset) while the answer shrinks from every label combination to one series per pod (per bucket
    /// bound for latency). <c>instance</c> keeps scrape targets apart where no <c>pod</c> label is attached. A user's own
    /// query templates are sent as written: Kubestead cannot know which label tells their pods apart.
    /// </summary>
    private (string Requests, string Failures, string? Buckets) Aggregated((string Requests, string Failures, string? Buckets) q) =>
        provider.Builtin is null
            ? q
            : ($"sum by (pod, instance) ({q.Requests})", $"sum by (pod, instance) ({q.Failures})",
                q.Buckets is null ? null : $"sum by (pod, instance, le) ({q.Buckets})");

    /// <summary>ingress-nginx's histogram is in seconds; judges read milliseconds.</summary>
    private double BucketScaleToMs => provider.Builtin == "nginx" ? 1000 : 1;

    /// <summary>The PromQL for one workload's cumulative requests, failures and latency buckets.</summary>
    public (string Requests, string Failures, string? Buckets) Queries(string workload)
    {
        var n = PromQl.Quote(ns);
        var w = PromQl.Quote(workload) + (LoadTest is { } lt ? lt.Matcher(isCanary: workload == canary) : "");
        return provider.Builtin switch
        {
            "istio" => (
                $"istio_requests_total{{reporter=\"destination\",destination_workload_namespace={n},destination_workload={w}}}",
                $"istio_requests_total{{reporter=\"destination\",destination_workload_namespace={n},destination_workload={w},response_code=~\"5..\"}}",
                $"istio_request_duration_milliseconds_bucket{{reporter=\"destination\",destination_workload_namespace={n},destination_workload={w}}}"),
            "linkerd" => (
                $"response_total{{direction=\"inbound\",namespace={n},deployment={w}}}",
                $"response_total{{direction=\"inbound\",namespace={n},deployment={w},classification=\"failure\"}}",
                $"response_latency_ms_bucket{{direction=\"inbound\",namespace={n},deployment={w}}}"),
            "nginx" => NginxQueries(workload == canary),
            // Linkerd 1.x's prometheus telemeter: rt:client:<counter>{rt="<router>", client="<bound id>"}; with the
            // io.l5d.k8s namer the id ends /#/io.l5d.k8s/<namespace>/<port>/<service> (possibly behind a transformer prefix).
            "linkerd1" => (
                $"rt:client:requests{{client=~{ClientRegex(workload)}}}",
                $"rt:client:failures{{client=~{ClientRegex(workload)}}}",
                null),
            _ => (
                PromQl.Render(provider.RequestsQuery!, Vars(workload), new Dictionary<string, string> { ["podRegex"] = PodRegex(workload) }),
                PromQl.Render(provider.FailuresQuery!, Vars(workload), new Dictionary<string, string> { ["podRegex"] = PodRegex(workload) }),
                null),
        };
    }

    private (string Requests, string Failures, string? Buckets) NginxQueries(bool isCanary)
    {
        if (Ingress is null) throw new MetricsUnavailableException("the nginx builtin query needs the stable Ingress (spec.nginx.ingress)");
        var selector = $"namespace={PromQl.Quote(ns)},ingress={PromQl.Quote(Ingress)},canary{(isCanary ? "!=" : "=")}\"\"";
        return (
            $"nginx_ingress_controller_requests{{{selector}}}",
            $"nginx_ingress_controller_requests{{{selector},status=~\"5..\"}}",
            $"nginx_ingress_controller_request_duration_seconds_bucket{{{selector}}}");
    }
    private string ClientRegex(string service) =>
        PromQl.Quote($@".*/#/io\.l5d\.k8s/{System.Text.RegularExpressions.Regex.Escape(ns)}/[^/]+/{System.Text.RegularExpressions.Regex.Escape(service)}");

    private Dictionary<string, string> Vars(string workload) => new() { ["namespace"] = ns, ["deployment"] = workload, ["workload"] = workload };

    /// <summary>
    /// A PromQL regex (fully anchored by Prometheus) for the pods of a Deployment: name, pod-template hash, pod suffix.
    /// Unlike <c>name-.*</c> it cannot match the pods of <c>name-canary</c> (one dash-separated part more). A Deployment
    /// name may hold dots, which a regex would read as any character (<c>shop.v2</c> matching <c>shopxv2</c>'s pods): each
    /// is written <c>[.]</c>, which needs no backslash, so the regex stays valid inside any PromQL string literal.
    /// </summary>
    public static string PodRegex(string deployment) => $"{deployment.Replace(".", "[.]", StringComparison.Ordinal)}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}";
}
