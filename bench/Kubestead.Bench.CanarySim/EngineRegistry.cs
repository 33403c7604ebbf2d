using Kubestead.Analysis;


namespace Kubestead.Bench.CanarySim;

/// <summary>Every engine by name: the peers' policies, Kubestead's built-in judges, and a scenario's engine variants.</summary>
public static class EngineRegistry
{
    private static readonly SequentialJudgeOptions Split = new(Alpha: 0.025);

    // What a user sets in the spec (latencyThresholdMs): Istio's bucket bound above stable's p99 (~160 ms). The judge's
    // self-calibrating bound has no spec field, so the benchmark does not use it (issue #18).
    private const double LatencyThresholdMs = 250;

    /// <summary>
    /// Issue #29 items 5 and 9: Mann-Whitney as a spec without analysis settings runs it: windows of the scrape interval
    /// (the default interval), counts from the scraped per-pod counters, the control's pods learned from the default
    /// look-back of history as the product reads it, a decision at each look.
    /// </summary>
    private static KubesteadPolicy MannWhitney(string name, ScenarioFile s, Cell? cell, IScrapedCounts? scraped, SimulatedControlHistory? history, int ticksAtEnd, bool align)
    {
        var interval = cell?.Environment?.Scrape?.IntervalSeconds ?? 60;
        var judge = new MannWhitneyJudge("errors");
        if (history is not null)
            foreach (var window in history.Windows(SpecDefaultVariant.LookbackSeconds, interval)) judge.LearnHistory(window);
        return new KubesteadPolicy(name, () => [judge], Math.Max(1, (int)Math.Round(interval / s.TickSeconds)), true, ticksAtEnd, align,
            scraped: scraped, tickSeconds: s.TickSeconds);
    }

    /// <summary>Every engine by name; Kubestead's use the product's judges.</summary>
    /// <param name="scraped">Scraped per-pod counters of the replicate, when the cell's environment scrapes (variants read them).</param>
    /// <param name="oracleThreshold">The oracle's calibrated threshold in this cell (see <see cref="OracleCalibration"/>).</param>
    /// <param name="history">The control's per-pod counts before t = 0 (the engine variants learn from them).</param>
    public static IPolicy Create(string name, ScenarioFile s, Cell? cell = null, IScrapedCounts? scraped = null, double? oracleThreshold = null,
        SimulatedControlHistory? history = null)
    {
        if (name is "oracle" or Runner.OracleUniform)
        {
            var c = cell ?? s.Cells().First();
            return OracleCalibration.Create(s, c, scraped, OracleCalibration.Multiplier(s, c.Fault),
                oracleThreshold ?? throw new ArgumentException("the oracle needs its calibrated threshold (Runner computes it per cell)"));
        }
        if (s.EngineVariants.FirstOrDefault(v => v.Name == name) is { } variant)
            return new KubesteadRolloutPolicy(variant, s, cell ?? s.Cells().First(), scraped, history);
        if (name.StartsWith(SpecDefaultVariant.Name, StringComparison.Ordinal))
        {
            var c = cell ?? s.Cells().First();
            if (SpecDefaultVariant.TryCreate(name, c.Environment?.Scrape?.IntervalSeconds) is { } engine)
                return new KubesteadRolloutPolicy(engine, s, c, scraped, history);
        }
        if (cell?.Schedule is { IsEngineDriven: true } schedule)
        {
            // Flagger has no pauses: every step's weight is a stepWeight (repeats collapsed).
            var weights = schedule.Steps.Select(x => x.Weight).Where((w, i) => i == 0 || w != schedule.Steps[i - 1].Weight).ToList();
            return name switch
            {
                // One weight: Flagger's iterations (10 passing checks) at that weight; several: stepWeights.
                "flagger" => weights.Count > 1 ? new FlaggerStepPolicy(weights, s.TickSeconds) : new FlaggerPolicy(false, s.TickSeconds),
                "argo" => new ArgoStepPolicy(schedule.Steps, s.TickSeconds),
                _ => throw new ArgumentException($"engine '{name}' does not follow weight schedules; use flagger, argo or an engine variant"),
            };
        }
        var ticksAtEnd = s.TMaxSeconds / s.TickSeconds;
        var minute = Math.Max(1, 60 / s.TickSeconds);
        var window = Math.Max(1, (s.JudgeWindowSeconds ?? s.TickSeconds) / s.TickSeconds);
        var align = cell?.Environment?.WindowsEndAtWeightChanges ?? true;
        return name switch
        {
            "flagger" => new FlaggerPolicy(false, s.TickSeconds),
            "flagger-skip" => new FlaggerPolicy(true, s.TickSeconds),
            "argo" => new ArgoPolicy(s.TickSeconds),
            // Errors and latency as a two-metric gate (JudgeFactory.CreateGate): alpha 5% split, 2.5% each, each direction at half that.
            "kubestead-sequential" => new KubesteadPolicy(name, () => [new SequentialErrorRateJudge("errors", Split), new SequentialLatencyJudge("latency", Split, LatencyThresholdMs)], window, true, ticksAtEnd, align),
            // The product's default: the error-rate judge alone at alpha 5%.
            "kubestead-sequential-errors" => new KubesteadPolicy(name, () => [new SequentialErrorRateJudge("errors")], window, true, ticksAtEnd, align),
            // The per-request likelihood-ratio test that was the default before the window became the unit (issue #18):
            // kept to show what robustness to clustered failures costs on iid traffic.
            "kubestead-sequential-errors-lr" => new KubesteadPolicy(name, () => [new SequentialErrorRateJudge("errors", new SequentialJudgeOptions(Unit: EvidenceUnit.Request))], window, true, ticksAtEnd, align),
            "kubestead-threshold" => new KubesteadPolicy(name, () => [new ThresholdJudge("errors", 99, 500)], minute, false, ticksAtEnd),
            "kubestead-mann-whitney" => new KubesteadPolicy(name, () => [new MannWhitneyJudge("errors")], minute, false, ticksAtEnd),
            "mann-whitney" => MannWhitney(name, s, cell, scraped, history, ticksAtEnd, align),
            _ => throw new ArgumentException($"unknown engine '{name}'"),
        };
    }
}
