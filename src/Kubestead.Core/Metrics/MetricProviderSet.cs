using Kubestead.Kubernetes;
using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Simulated;
using Kubestead.Metrics.Web;
using Kubestead.Specs;

namespace Kubestead.Metrics;

/// <summary>The providers a host offers, chosen per metric by the kind of its spec block.</summary>
public sealed class MetricProviderSet
{
    private static readonly HttpClient SharedHttp = new();

    private readonly Dictionary<string, IMetricProvider> _byKind;

    public MetricProviderSet(IEnumerable<IMetricProvider> providers) =>
        _byKind = providers.ToDictionary(p => p.Kind, StringComparer.Ordinal);

    /// <summary>
    /// What `kubestead` and the cmdlets use: Prometheus, the web source, and the simulated provider read from where a sandbox cluster
    /// serves it (null <paramref name="api"/>: the simulated provider is unavailable).
    /// </summary>
    public static MetricProviderSet Default(IKubernetesApi? api) =>
        new([new PrometheusMetricProvider(SharedHttp, api), new ClusterServedSimulatorProvider(SharedHttp, api), new WebMetricProvider(SharedHttp, api)]);

    /// <summary>The window query for one metric (a <see cref="MetricQueryFactory"/>).</summary>
    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric) =>
        _byKind.TryGetValue(metric.Provider.Kind, out var provider)
            ? provider.Open(spec, metric)
            : (_, _, _) => throw new MetricsUnavailableException(
                $"metric '{metric.Name}' uses the {metric.Provider.Kind} provider, which this host does not offer (it offers: {string.Join(", ", _byKind.Keys)})");
}
