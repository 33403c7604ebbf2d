using Kubestead.Kubernetes;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Metrics.Simulated;

/// <summary>
/// The <c>simulated</c> provider for a driver outside the sandbox process (`kubestead start` against `kubestead
/// sandbox`): the sandbox writes where it serves its simulated metrics as a Prometheus API into a ConfigMap, and
/// windows are read from there with Istio's metric names (which the simulator exposes for every mesh).
/// </summary>
/// <param name="api">The cluster; null: the simulated provider is unavailable.</param>
public sealed class ClusterServedSimulatorProvider(HttpClient http, IKubernetesApi? api) : IMetricProvider
{
    /// <summary>ConfigMap (in the rollout's namespace) in which a sandbox cluster says where it serves its simulated metrics.</summary>
    public const string SimulatorConfigMap = "kubestead-sandbox-metrics";

    public const string SimulatorAddressKey = "prometheusAddress";

    public string Kind => SimulatedSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        if (api is null)
            return (_, _, _) => throw new MetricsUnavailableException($"metric '{metric.Name}' has no Prometheus address and no simulator is attached");
        return new ResolvedOnFirstUse(ct => ResolveAsync(api, spec, metric, ct)).WindowAsync;
    }

    /// <summary>The sandbox's address is read at the first window (or prefetch), then its source serves every window.</summary>
    private sealed class ResolvedOnFirstUse(Func<CancellationToken, Task<MetricWindowQuery>> resolve) : IMetricWindowPrefetch
    {
        private MetricWindowQuery? _resolved;

        public async Task<Analysis.MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
        {
            _resolved ??= await resolve(ct).ConfigureAwait(false);
            return await _resolved(start, end, ct).ConfigureAwait(false);
        }

        public async Task PrefetchAsync(DateTimeOffset from, TimeSpan interval, int windows, CancellationToken ct)
        {
            _resolved ??= await resolve(ct).ConfigureAwait(false);
            if (_resolved.Target is IMetricWindowPrefetch source) await source.PrefetchAsync(from, interval, windows, ct).ConfigureAwait(false);
        }
    }

    private async Task<MetricWindowQuery> ResolveAsync(IKubernetesApi cluster, RolloutSpec spec, MetricSpec metric, CancellationToken ct)
    {
        string? address = null;
        try
        {
            var cm = await cluster.GetAsync(ResourceType.ConfigMap, spec.Namespace, SimulatorConfigMap, ct).ConfigureAwait(false);
            address = cm["data"]?[SimulatorAddressKey]?.GetValue<string>();
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
        if (string.IsNullOrEmpty(address))
            throw new MetricsUnavailableException(
                $"metric '{metric.Name}' uses the simulated provider, but no simulator is attached and the cluster serves no simulated metrics " +
                $"(configmaps/{SimulatorConfigMap} in namespace {spec.Namespace}, written by `kubestead sandbox`); on a real cluster use a prometheus provider");
        var provider = new PrometheusProviderSpec(address, "istio", null, null, null, metric.Provider.Timeout);
        var client = new PrometheusClient(http, new Uri(address.TrimEnd('/') + "/"), null, metric.Provider.Timeout);
        var (canary, control) = PrometheusMetricProvider.Workloads(spec);
        return new PrometheusMetricSource(client, provider, spec.Namespace, canary, control) { WithLatency = metric.Judge.ReadsLatency, LoadTest = LoadTests.LoadTestTraffic.For(spec, metric) }.WindowAsync;
    }
}
