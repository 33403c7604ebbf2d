using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.CloudWatch;

/// <summary>
/// A metric read from Amazon CloudWatch's GetMetricData: two metrics (requests and failures, e.g. an Application Load
/// Balancer's RequestCount and HTTPCode_Target_5XX_Count) with the statistic <see cref="Stat"/> per
/// <see cref="Period"/>, for each version told apart by one dimension (<see cref="VersionDimension"/>: the canary's
/// value, then its control's). Requests are signed with SigV4 for the <c>monitoring</c> service
/// (<see cref="HttpConnectionSpec.SigV4"/>). CloudWatch answers statistics, not buckets: no latency histogram.
/// </summary>
/// <param name="Canary">The version dimension's value for the canary; null: the canary's Deployment name.</param>
/// <param name="Control">Its value for the control (baseline, else stable); null: the control's Deployment name.</param>
public sealed record CloudWatchProviderSpec(
    Uri Address,
    string Namespace,
    string RequestsMetric,
    string FailuresMetric,
    string Stat,
    IReadOnlyList<KeyValuePair<string, string>> Dimensions,
    string VersionDimension,
    string? Canary,
    string? Control,
    TimeSpan Period,
    TimeSpan Timeout,
    string Field,
    HttpConnectionSpec Connection) : MetricProviderSpec(CloudWatchSpecBlock.BlockKey, Timeout)
{
    public override bool ReadsSecrets => Connection.ReadsSecrets;

    public override bool ReturnsLatency => false;
}
