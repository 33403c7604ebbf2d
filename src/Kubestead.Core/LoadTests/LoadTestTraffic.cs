using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.LoadTests;

/// <summary>
/// Which side of a load test a metric query counts: the synthetic requests (marked with the rollout's name in
/// <paramref name="Label"/>) or the users' (every other value, including none).
/// </summary>
/// <param name="SyntheticControl">The load test sends a control stream: the synthetic canary is compared with the synthetic control.</param>
public sealed record LoadTestTraffic(string Label, string Value, bool Synthetic, bool SyntheticControl = false)
{
    /// <summary>The traffic <paramref name="metric"/> counts in <paramref name="spec"/>, or null when it has no load test.</summary>
    public static LoadTestTraffic? For(RolloutSpec spec, MetricSpec metric) =>
        spec.Analysis?.LoadTest is { } lt ? new(lt.MetricLabel, spec.Name, metric.LoadTestEvidence, lt.Control is not null) : null;

    /// <summary>
    /// A PromQL matcher to append inside a selector (after a matcher): the synthetic side reads the marked requests, of
    /// the control too when the load test sends it a stream of its own; the users' side reads every other request.
    /// </summary>
    public string Matcher(bool isCanary) => $",{Label}{(Synthetic && (isCanary || SyntheticControl) ? "=" : "!=")}{PromQl.Quote(Value)}";
}
