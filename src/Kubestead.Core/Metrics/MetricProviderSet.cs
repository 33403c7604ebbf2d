using Kubestead.Kubernetes;
using Kubestead.Metrics.AppInsights;
using Kubestead.Metrics.CloudWatch;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Datadog;
using Kubestead.Metrics.NewRelic;
using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Simulated;
using Kubestead.Metrics.Web;
using Kubestead.Specs;

namespace Kubestead.Metrics;

/// <summary>
/// The providers a host offers, chosen per metric by the kind of its spec block. It owns the TLS clients its providers
/// share (each holds a connection pool and a client certificate), and disposes them with itself.
/// </summary>
public sealed class MetricProviderSet : IDisposable
{
    private static readonly HttpClient SharedHttp = new();

    private readonly Dictionary<string, IMetricProvider> _byKind;
    private readonly TlsHttpClients? _tlsClients;

    public MetricProviderSet(IEnumerable<IMetricProvider> providers, TlsHttpClients? ownedTlsClients = null)
    {
        _byKind = providers.ToDictionary(p => p.Kind, StringComparer.Ordinal);
        _tlsClients = ownedTlsClients;
    }

    /// <summary>
    /// What `kubestead` and the cmdlets use: Prometheus, Application Insights, Datadog, New Relic, CloudWatch, the web source, and the simulated
    /// provider read from where a sandbox cluster serves it (null <paramref name="api"/>: the simulated provider is unavailable).
    /// </summary>
    public static MetricProviderSet Default(IKubernetesApi? api)
    {
        var tls = new TlsHttpClients();
        return new([
            new PrometheusMetricProvider(SharedHttp, api, tlsClients: tls), new ClusterServedSimulatorProvider(SharedHttp, api),
            new WebMetricProvider(SharedHttp, api, tlsClients: tls), new AppInsightsMetricProvider(SharedHttp, tls, api),
            new DatadogMetricProvider(SharedHttp, tls, api), new NewRelicMetricProvider(SharedHttp, tls, api),
            new CloudWatchMetricProvider(SharedHttp, tls, api),
        ], tls);
    }

    public void Dispose() => _tlsClients?.Dispose();

    /// <summary>The window query for one metric (a <see cref="MetricQueryFactory"/>).</summary>
    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric) =>
        _byKind.TryGetValue(metric.Provider.Kind, out var provider)
            ? provider.Open(spec, metric)
            : (_, _, _) => throw new MetricsUnavailableException(
                $"metric '{metric.Name}' uses the {metric.Provider.Kind} provider, which this host does not offer (it offers: {string.Join(", ", _byKind.Keys)})");
}
