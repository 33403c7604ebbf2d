using Kubestead.Rollouts.State;


namespace Kubestead.Analysis;

/// <summary>The combined answer of every judge, as the state machine needs it.</summary>
public enum GateOutcome { Pass, Fail, InsufficientData, Error, NotConfigured }

public static class AnalysisGate
{
    /// <summary>Fail beats everything; Pass needs every judge to pass; Error beats InsufficientData; no verdicts yet is InsufficientData.</summary>
    public static GateOutcome Combine(IReadOnlyList<Verdict> verdicts, bool analysisConfigured)
    {
        if (!analysisConfigured) return GateOutcome.NotConfigured;
        if (verdicts.Count == 0) return GateOutcome.InsufficientData;
        if (verdicts.Any(v => v.Outcome == VerdictOutcome.Fail)) return GateOutcome.Fail;
        if (verdicts.All(v => v.Outcome == VerdictOutcome.Pass)) return GateOutcome.Pass;
        if (verdicts.Any(v => v.Outcome == VerdictOutcome.Error)) return GateOutcome.Error;
        return GateOutcome.InsufficientData;
    }

    /// <summary>The step judges' gate, except that a background e-process's Fail aborts whatever the step.</summary>
    public static GateOutcome Combine(RolloutStatus status, bool analysisConfigured) =>
        analysisConfigured && status.BackgroundVerdicts.Any(v => v.Outcome == VerdictOutcome.Fail)
            ? GateOutcome.Fail
            : Combine(status.LastVerdicts, analysisConfigured);
}
