using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// A metric read from Prometheus: a builtin query set (istio, linkerd, nginx, linkerd1) or a pair of PromQL templates
/// returning cumulative counters. <see cref="Connection"/> says how to reach it (credentials, TLS, headers); null: plain
/// HTTP(S), with <see cref="BearerTokenFile"/> when given.
/// </summary>
public sealed record PrometheusProviderSpec(
    string? Address,
    string? Builtin,
    string? RequestsQuery,
    string? FailuresQuery,
    string? BearerTokenFile,
    TimeSpan Timeout,
    HttpConnectionSpec? Connection = null) : MetricProviderSpec(PrometheusSpecBlock.BlockKey, Timeout)
{
    public override bool ReadsSecrets => Connection?.ReadsSecrets == true;
}
