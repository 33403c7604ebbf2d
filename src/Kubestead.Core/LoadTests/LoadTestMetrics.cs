using Kubestead.Specs;

namespace Kubestead.LoadTests;

/// <summary>The metrics an analysis gate judges: the spec's, plus one load-test sibling per metric when it has a load test.</summary>
public static class LoadTestMetrics
{
    /// <summary>
    /// With a load test each metric is judged twice, on the users' requests and on the synthetic ones, as separate
    /// judges: the gate's level is split over all of them (<see cref="Analysis.JudgeFactory.CreateGate"/>), so adding the
    /// synthetic evidence cannot raise the false-abort or false-pass rate of the whole rollout.
    /// </summary>
    public static IReadOnlyList<MetricSpec> Of(AnalysisSpec analysis) => analysis.LoadTest is null
        ? analysis.Metrics
        : [.. analysis.Metrics, .. analysis.Metrics.Select(m => m with { Name = LoadTestEvidence.NameFor(m.Name), LoadTestEvidence = true })];
}
