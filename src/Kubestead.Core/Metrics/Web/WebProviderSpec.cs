using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.Web;

/// <summary>
/// A metric read from any HTTP endpoint answering JSON (as Argo Rollouts' web metric): one GET per version and window,
/// <see cref="Url"/> filled with the version's workload and the window's edges, the counts picked by JSON paths.
/// </summary>
public sealed record WebProviderSpec(string Url, string RequestsPath, string FailuresPath, TimeSpan Timeout, string Field, HttpConnectionSpec? Connection)
    : MetricProviderSpec(WebSpecBlock.BlockKey, Timeout)
{
    public override bool ReadsSecrets => Connection?.ReadsSecrets == true;

    public override bool ReturnsLatency => false;
}
