using Kubestead.Rollouts.State;


namespace Kubestead.Analysis;

/// <summary>The combined answer of every judge, as the state machine needs it.</summary>
public enum GateOutcome { Pass, Fail, InsufficientData, Error, NotConfigured }

public static class AnalysisGate
{
    /// <summary>
    /// Fail beats everything; Pass needs every metric to pass; Error beats InsufficientData; no verdicts yet is
    /// InsufficientData. A metric with a load test passes on either its users' or its synthetic evidence
    /// (<see cref="Kubestead.LoadTests.LoadTestEvidence"/>): each is judged at half the metric's level, so the two
    /// chances together keep the metric's Pass error where it was (see docs/load-tests.md).
    /// </summary>
    public static GateOutcome Combine(IReadOnlyList<Verdict> verdicts, bool analysisConfigured)
    {
        if (!analysisConfigured) return GateOutcome.NotConfigured;
        if (verdicts.Count == 0) return GateOutcome.InsufficientData;
        if (verdicts.Any(v => v.Outcome == VerdictOutcome.Fail)) return GateOutcome.Fail;
        if (verdicts.GroupBy(v => Kubestead.LoadTests.LoadTestEvidence.MetricOf(v.Metric))
            .All(metric => metric.Any(v => v.Outcome == VerdictOutcome.Pass))) return GateOutcome.Pass;
        if (verdicts.Any(v => v.Outcome == VerdictOutcome.Error)) return GateOutcome.Error;
        return GateOutcome.InsufficientData;
    }

    /// <summary>The step judges' gate, except that a background e-process's Fail aborts whatever the step.</summary>
    public static GateOutcome Combine(RolloutStatus status, bool analysisConfigured) =>
        analysisConfigured && status.BackgroundVerdicts.Any(v => v.Outcome == VerdictOutcome.Fail)
            ? GateOutcome.Fail
            : Combine(status.LastVerdicts, analysisConfigured);
}
