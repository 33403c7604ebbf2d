using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Specs;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// Counts per version from Prometheus: cumulative counters read at the window's start and end (instant queries) and
/// differenced series by series, which is exact to the request where <c>increase()</c> would extrapolate, and which a
/// series appearing or vanishing (failed scrape, pod replaced or scaled down) cannot turn into lifetime totals.
/// Queries must therefore return the raw counter series (not summed across pods, never rate/irate/increase). Istio's metrics are read with
/// reporter="destination" by workload, Linkerd's inbound proxy metrics by deployment; a custom pair of queries
/// serves clusters without a mesh.
/// </summary>
public sealed class PrometheusMetricSource(PrometheusClient client, MetricProviderSpec provider, string ns, string canary, string control)
{
    private static readonly HttpClient SharedHttp = new();

    /// <summary>ConfigMap (in the rollout's namespace) in which a sandbox cluster says where it serves its simulated metrics.</summary>
    public const string SimulatorConfigMap = "kubestead-sandbox-metrics";

    public const string SimulatorAddressKey = "prometheusAddress";

    /// <param name="api">
    /// The cluster, to find where a sandbox serves the <c>simulated</c> provider's metrics when no simulator is attached
    /// in-process (`kubestead start` against `kubestead sandbox`); null: the simulated provider is unavailable.
    /// </param>
    public static MetricQueryFactory QueryFactory(TimeProvider clock, IKubernetesApi? api = null) => (spec, metric) =>
    {
        if (metric.Provider.Kind == "simulated" && api is not null)
            return SimulatedViaClusterAsync(api, spec, metric);
        if (metric.Provider.Kind != "prometheus" || metric.Provider.Address is null)
            return (_, _, _) => throw new MetricsUnavailableException($"metric '{metric.Name}' has no Prometheus address and no simulator is attached");
        var client = new PrometheusClient(SharedHttp, new Uri(metric.Provider.Address.TrimEnd('/') + "/"), metric.Provider.BearerTokenFile, metric.Provider.Timeout);
        var canary = spec.Canary.Deployment ?? $"{spec.StableDeployment}-canary";
        var control = spec.BaselineDeployment ?? spec.StableDeployment;
        // Linkerd 1.x counts per client (the bound name of a Service), not per Deployment.
        if (metric.Provider.Builtin == "linkerd1" && spec.Linkerd1 is { } l1) (canary, control) = (l1.CanaryService, spec.Service);
        var source = new PrometheusMetricSource(client, metric.Provider, spec.Namespace, canary, control)
        {
            Ingress = spec.Nginx?.Ingress,
        };
        return source.WindowAsync;
    };

    private static MetricWindowQuery SimulatedViaClusterAsync(IKubernetesApi api, RolloutSpec spec, MetricSpec metric)
    {
        MetricWindowQuery? resolved = null;
        return async (start, end, ct) =>
        {
            if (resolved is null)
            {
                string? address = null;
                try
                {
                    var cm = await api.GetAsync(ResourceType.ConfigMap, spec.Namespace, SimulatorConfigMap, ct).ConfigureAwait(false);
                    address = cm["data"]?[SimulatorAddressKey]?.GetValue<string>();
                }
                catch (KubernetesApiException e) when (e.IsNotFound)
                {
                }
                if (string.IsNullOrEmpty(address))
                    throw new MetricsUnavailableException(
                        $"metric '{metric.Name}' uses the simulated provider, but no simulator is attached and the cluster serves no simulated metrics " +
                        $"(configmaps/{SimulatorConfigMap} in namespace {spec.Namespace}, written by `kubestead sandbox`); on a real cluster use a prometheus provider");
                // The simulator exposes Istio's metric names for every mesh, labelled by workload.
                var provider = new MetricProviderSpec("prometheus", address, "istio", null, null, null, metric.Provider.Timeout);
                var client = new PrometheusClient(SharedHttp, new Uri(address.TrimEnd('/') + "/"), null, metric.Provider.Timeout);
                var canary = spec.Canary.Deployment ?? $"{spec.StableDeployment}-canary";
                resolved = new PrometheusMetricSource(client, provider, spec.Namespace, canary, spec.BaselineDeployment ?? spec.StableDeployment).WindowAsync;
            }
            return await resolved(start, end, ct).ConfigureAwait(false);
        };
    }

    /// <summary>
    /// ingress-nginx: the stable Ingress whose requests are counted. The controller labels a request routed by the canary
    /// Ingress with the stable Ingress's <c>ingress</c> and <c>service</c> and a non-empty <c>canary</c> label (the canary
    /// upstream), so versions are told apart by <c>canary</c>, not by <c>service</c>.
    /// </summary>
    public string? Ingress { get; init; }

    public async Task<MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var c = await SampleAsync(canary, start, end, ct).ConfigureAwait(false);
        var s = await SampleAsync(control, start, end, ct).ConfigureAwait(false);
        return new MetricWindow(start, end, c, s);
    }

    /// <summary>One workload's counts in the window, differenced series by series (<see cref="CounterSeriesDiff"/>).</summary>
    private async Task<VersionSample> SampleAsync(string workload, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var (requestsQuery, failuresQuery, bucketsQuery) = Queries(workload);
        var requests = CounterSeriesDiff.Total(await client.QueryAsync(requestsQuery, start, ct).ConfigureAwait(false),
            await client.QueryAsync(requestsQuery, end, ct).ConfigureAwait(false));
        var failures = CounterSeriesDiff.Total(await client.QueryAsync(failuresQuery, start, ct).ConfigureAwait(false),
            await client.QueryAsync(failuresQuery, end, ct).ConfigureAwait(false));
        LatencyHistogram? latency = null;
        if (bucketsQuery is not null)
        {
            var byLe = CounterSeriesDiff.Diff(await client.QueryAsync(bucketsQuery, start, ct).ConfigureAwait(false),
                await client.QueryAsync(bucketsQuery, end, ct).ConfigureAwait(false), l => l.TryGetValue("le", out var le) ? le : "");
            var points = byLe.Where(p => p.Key.Length > 0)
                .Select(p => (Le: p.Key == "+Inf" ? double.PositiveInfinity : BucketScaleToMs * double.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture), p.Value))
                .OrderBy(p => p.Le).ToList();
            if (points.Count > 0) latency = new LatencyHistogram(points.Select(p => p.Le).ToArray(), points.Select(p => (long)Math.Round(p.Value)).ToArray());
        }
        var r = (long)Math.Round(requests);
        return new VersionSample(r, Math.Min((long)Math.Round(failures), r), latency);
    }

    /// <summary>ingress-nginx's histogram is in seconds; judges read milliseconds.</summary>
    private double BucketScaleToMs => provider.Builtin == "nginx" ? 1000 : 1;

    /// <summary>The PromQL for one workload's cumulative requests, failures and latency buckets.</summary>
    public (string Requests, string Failures, string? Buckets) Queries(string workload)
    {
        var n = PromQl.Quote(ns);
        var w = PromQl.Quote(workload);
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
    /// Unlike <c>name-.*</c> it cannot match the pods of <c>name-canary</c> (one dash-separated part more).
    /// </summary>
    public static string PodRegex(string deployment) => $"{deployment}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}";
}
