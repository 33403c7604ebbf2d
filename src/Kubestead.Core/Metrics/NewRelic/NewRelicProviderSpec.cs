using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.NewRelic;

/// <summary>
/// A metric read from New Relic through NerdGraph's NRQL query: per version and window, one NRQL query (filled with
/// the version's Deployment) answering a <c>requests</c> and a <c>failures</c> count; Kubestead adds the window as
/// <c>SINCE</c>/<c>UNTIL</c> in epoch milliseconds. The user API key comes from a file or Secret as the API-Key header.
/// </summary>
public sealed record NewRelicProviderSpec(
    Uri Address,
    long AccountId,
    string Query,
    TimeSpan Timeout,
    string Field,
    HttpConnectionSpec Connection) : MetricProviderSpec(NewRelicSpecBlock.BlockKey, Timeout)
{
    public override bool ReadsSecrets => Connection.ReadsSecrets;

    public override bool ReturnsLatency => false;
}
