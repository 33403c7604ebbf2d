using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.Datadog;

/// <summary>
/// A metric read from Datadog's metrics query API (v1 <c>/api/v1/query</c>): two query templates per version (requests
/// and failures, counts via <c>.as_count()</c>), filled with the version's Deployment. The API and application keys
/// come from files or Secrets and travel as the DD-API-KEY and DD-APPLICATION-KEY headers. Datadog answers points, not
/// bucket counts, so there is no latency histogram.
/// </summary>
public sealed record DatadogProviderSpec(
    Uri Address,
    string RequestsQuery,
    string FailuresQuery,
    TimeSpan Timeout,
    string Field,
    HttpConnectionSpec Connection) : MetricProviderSpec(DatadogSpecBlock.BlockKey, Timeout)
{
    public override bool ReadsSecrets => Connection.ReadsSecrets;

    public override bool ReturnsLatency => false;
}
