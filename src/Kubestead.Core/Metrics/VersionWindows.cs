using Kubestead.Analysis;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Metrics;

/// <summary>
/// The window query of a source asked once per version: the canary's Deployment, then its control's (the baseline
/// when the spec has one, else stable), each read by <c>sample</c> for the same window.
/// </summary>
public static class VersionWindows
{
    public static MetricWindowQuery Of(RolloutSpec spec, Func<string, DateTimeOffset, DateTimeOffset, CancellationToken, Task<VersionSample>> sample)
    {
        var (canary, control) = PrometheusMetricProvider.Workloads(spec);
        return async (start, end, ct) => new MetricWindow(start, end,
            await sample(canary, start, end, ct).ConfigureAwait(false),
            await sample(control, start, end, ct).ConfigureAwait(false));
    }

    /// <summary>What a query template's <c>{{workload}}</c>, <c>{{deployment}}</c> and <c>{{namespace}}</c> stand for.</summary>
    public static Dictionary<string, string> Variables(string ns, string workload) =>
        new() { ["workload"] = workload, ["deployment"] = workload, ["namespace"] = ns };
}
