using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.Metrics;

/// <summary>
/// Counts per version from Prometheus: the counters' sums at the window's end minus at its start (instant queries),
/// which is exact to the request where <c>increase()</c> would extrapolate. Istio's metrics are read with
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
        var source = new PrometheusMetricSource(client, metric.Provider, spec.Namespace, canary, spec.BaselineDeployment ?? spec.StableDeployment);
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

    public async Task<MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var canaryStart = await SampleAsync(canary, start, ct).ConfigureAwait(false);
        var canaryEnd = await SampleAsync(canary, end, ct).ConfigureAwait(false);
        var controlStart = await SampleAsync(control, start, ct).ConfigureAwait(false);
        var controlEnd = await SampleAsync(control, end, ct).ConfigureAwait(false);
        return new MetricWindow(start, end, Diff(canaryEnd, canaryStart), Diff(controlEnd, controlStart));
    }

    private static VersionSample Diff(VersionSample end, VersionSample start)
    {
        LatencyHistogram? latency = null;
        if (end.Latency is { } e && start.Latency is { } s && e.UpperBoundsMs.SequenceEqual(s.UpperBoundsMs))
            latency = new LatencyHistogram(e.UpperBoundsMs, e.CumulativeCounts.Zip(s.CumulativeCounts, (a, b) => Math.Max(0, a - b)).ToArray());
        // A counter reset (pod restart) makes the difference negative: count from zero then rather than inventing traffic.
        var requests = end.Requests >= start.Requests ? end.Requests - start.Requests : end.Requests;
        var failures = end.Failures >= start.Failures ? end.Failures - start.Failures : end.Failures;
        return new VersionSample(requests, Math.Min(failures, requests), latency);
    }

    private async Task<VersionSample> SampleAsync(string workload, DateTimeOffset at, CancellationToken ct)
    {
        var (requests, failures, buckets) = Queries(workload);
        var r = await ScalarAsync(requests, at, ct).ConfigureAwait(false);
        var f = await ScalarAsync(failures, at, ct).ConfigureAwait(false);
        LatencyHistogram? latency = null;
        if (buckets is not null)
        {
            var samples = await client.QueryAsync(buckets, at, ct).ConfigureAwait(false);
            var points = samples.Where(s => s.Labels.ContainsKey("le"))
                .Select(s => (Le: s.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(s.Labels["le"], System.Globalization.CultureInfo.InvariantCulture), s.Value))
                .OrderBy(p => p.Le).ToList();
            if (points.Count > 0) latency = new LatencyHistogram(points.Select(p => p.Le).ToArray(), points.Select(p => (long)Math.Round(p.Value)).ToArray());
        }
        return new VersionSample((long)Math.Round(r), (long)Math.Round(f), latency);
    }

    private async Task<double> ScalarAsync(string query, DateTimeOffset at, CancellationToken ct) =>
        (await client.QueryAsync(query, at, ct).ConfigureAwait(false)).Sum(s => double.IsFinite(s.Value) ? s.Value : 0);

    /// <summary>The PromQL for one workload's cumulative requests, failures and latency buckets.</summary>
    public (string Requests, string Failures, string? Buckets) Queries(string workload)
    {
        var n = PromQl.Quote(ns);
        var w = PromQl.Quote(workload);
        return provider.Builtin switch
        {
            "istio" => (
                $"sum(istio_requests_total{{reporter=\"destination\",destination_workload_namespace={n},destination_workload={w}}})",
                $"sum(istio_requests_total{{reporter=\"destination\",destination_workload_namespace={n},destination_workload={w},response_code=~\"5..\"}})",
                $"sum by (le) (istio_request_duration_milliseconds_bucket{{reporter=\"destination\",destination_workload_namespace={n},destination_workload={w}}})"),
            "linkerd" => (
                $"sum(response_total{{direction=\"inbound\",namespace={n},deployment={w}}})",
                $"sum(response_total{{direction=\"inbound\",namespace={n},deployment={w},classification=\"failure\"}})",
                $"sum by (le) (response_latency_ms_bucket{{direction=\"inbound\",namespace={n},deployment={w}}})"),
            _ => (
                PromQl.Render(provider.RequestsQuery!, Vars(workload)),
                PromQl.Render(provider.FailuresQuery!, Vars(workload)),
                null),
        };
    }

    private Dictionary<string, string> Vars(string workload) => new() { ["namespace"] = ns, ["deployment"] = workload, ["workload"] = workload };
}
