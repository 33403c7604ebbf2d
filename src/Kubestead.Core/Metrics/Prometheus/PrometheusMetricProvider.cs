using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// The <c>prometheus</c> provider: which workloads a rollout's versions are counted under, and a
/// <see cref="PrometheusMetricSource"/> that reads them.
/// </summary>
/// <param name="api">Where credentials named as Secrets are read (the rollout's namespace); null: Secrets cannot be used.</param>
/// <param name="tlsClients">The TLS clients, owned by whoever disposes them (a <see cref="MetricProviderSet"/>); null: this provider's own.</param>
/// <param name="environment">Where Entra ID's and AWS's credential variables are read; null: the process environment.</param>
public sealed class PrometheusMetricProvider(HttpClient http, IKubernetesApi? api = null, TimeProvider? clock = null, TlsHttpClients? tlsClients = null,
    Func<string, string?>? environment = null) : IMetricProvider
{
    private readonly TlsHttpClients _tlsClients = tlsClients ?? new();

    public string Kind => PrometheusSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        if (metric.Provider is not PrometheusProviderSpec { Address: { } address } provider)
            return (_, _, _) => throw new MetricsUnavailableException($"metric '{metric.Name}' has no Prometheus address and no simulator is attached");
        var uri = new Uri(address.TrimEnd('/') + "/");
        var connection = new MetricsHttpConnection(http, _tlsClients, provider.Connection, new SecretValueReader(api, spec.Namespace, clock),
            $"Prometheus at {UrlRedaction.Redact(uri)}", $"{provider.Connection?.Field ?? FieldOf(spec, metric)}.address", clock, environment);
        var client = new PrometheusClient(connection, uri, provider.Timeout);
        var (canary, control) = Workloads(spec);
        // Linkerd 1.x counts per client (the bound name of a Service), not per Deployment.
        if (provider.Builtin == "linkerd1" && spec.Linkerd1 is { } l1) (canary, control) = (l1.CanaryService, spec.Service);
        return new PrometheusMetricSource(client, provider, spec.Namespace, canary, control) {
            Ingress = spec.Nginx?.Ingress,
            WithLatency = metric.Judge.ReadsLatency,
            LoadTest = LoadTests.LoadTestTraffic.For(spec, metric),
        }.WindowAsync;
    }

    private static string FieldOf(RolloutSpec spec, MetricSpec metric) =>
        $"spec.analysis.metrics[{spec.Analysis?.Metrics.ToList().IndexOf(metric) ?? 0}].provider.{PrometheusSpecBlock.BlockKey}";

    /// <summary>The Deployments whose pods the canary and its control (the baseline when the spec has one, else stable) run in.</summary>
    public static (string Canary, string Control) Workloads(RolloutSpec spec) =>
        (spec.Canary.Deployment ?? $"{spec.StableDeployment}-canary", spec.BaselineDeployment ?? spec.StableDeployment);
}
