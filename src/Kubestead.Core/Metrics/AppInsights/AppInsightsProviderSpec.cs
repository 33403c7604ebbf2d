using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.AppInsights;

/// <summary>
/// A metric read from Application Insights' <c>requests</c> table through its query API: requests (summed
/// <c>itemCount</c>, so sampled telemetry counts what it stands for), failures (<c>success == false</c>) and latency
/// (<c>duration</c>) per version, where a version is told apart by <see cref="VersionBy"/> (the role name, or the
/// application version). <see cref="Canary"/> and <see cref="Control"/> are the values that column holds for each;
/// null: the version's Deployment name (for role names, which OpenTelemetry's service.name usually sets to it).
/// </summary>
public sealed record AppInsightsProviderSpec(
    Uri Address,
    string AppId,
    string VersionBy,
    string? Canary,
    string? Control,
    TimeSpan Timeout,
    string Field,
    HttpConnectionSpec? Connection) : MetricProviderSpec(AppInsightsSpecBlock.BlockKey, Timeout)
{
    public override bool ReadsSecrets => Connection?.ReadsSecrets == true;
}
