using Kubestead.Specs;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// A metric read from Prometheus: a builtin query set (istio, linkerd, nginx, linkerd1) or a pair of PromQL templates
/// returning cumulative counters.
/// </summary>
public sealed record PrometheusProviderSpec(
    string? Address,
    string? Builtin,
    string? RequestsQuery,
    string? FailuresQuery,
    string? BearerTokenFile,
    TimeSpan Timeout) : MetricProviderSpec(PrometheusSpecBlock.BlockKey, Timeout);
