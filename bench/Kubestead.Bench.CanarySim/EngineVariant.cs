using Kubestead.Analysis;


namespace Kubestead.Bench.CanarySim;

/// <summary>
/// A Kubestead engine as a spec configures it (issue #12): the analysis settings a user can choose, so every setting is
/// benchmarked. Named in a scenario file's <c>engineVariants</c> and then listed in <c>engines</c> like the built-in ones.
/// </summary>
public sealed class EngineVariant
{
    public string Name { get; set; } = "kubestead";

    /// <summary><c>errors</c> (the default judge alone), <c>errors+latency</c> (errors and the latency judge, 250 ms, as
    /// one gate), <c>errors2</c> (two error metrics with separate failure streams as one gate).</summary>
    public string Metrics { get; set; } = "errors";

    /// <summary><c>window</c> (WindowBettingEProcess, the default) or <c>request</c> (the per-request likelihood ratio).</summary>
    public string Unit { get; set; } = "window";

    public double Alpha { get; set; } = 0.05;
    public double DetectRatio { get; set; } = 5;
    public double AllowedIncrease { get; set; } = 1;

    /// <summary>The analysis interval (window length); null: one tick.</summary>
    public int? IntervalSeconds { get; set; }

    /// <summary>Traffic within this many seconds after the canary became ready is not fed to the judges.</summary>
    public double WarmupSeconds { get; set; }

    /// <summary>Also skip windows ending within <see cref="WarmupSeconds"/> after each weight change.</summary>
    public bool WarmupAfterWeightChange { get; set; }

    /// <summary>Per analysis step: traffic within this many seconds after the step's start is not fed to the judges.</summary>
    public double InitialDelaySeconds { get; set; }

    /// <summary>One e-process per metric fed every counted window until promotion; its Fail aborts whatever step runs.</summary>
    public bool Background { get; set; } = true;

    /// <summary>
    /// The background test restarts as the engine's does (<see cref="RestartMixtureOptions.Default"/>); false: the single
    /// e-process of the engine before issue #12's restarts (for comparison only; no spec field chooses it).
    /// </summary>
    public bool BackgroundRestart { get; set; } = true;

    /// <summary>Overrides of the engine's restart schedule, to measure others (null: the engine's value).</summary>
    public double? RestartSeconds { get; set; }
    public double? RestartFirstWeight { get; set; }

    /// <summary>The length the prior is spread over (null: as the engine derives it from the plan).</summary>
    public double? RestartPlannedSeconds { get; set; }
    public double? RestartTailWeight { get; set; }

    /// <summary>
    /// The background test's restart schedule for a plan of <paramref name="plannedSeconds"/> (its timed steps, as
    /// <c>RuntimeFactory.PlannedLength</c> counts them), or null for a single e-process.
    /// </summary>
    public RestartMixtureOptions? BackgroundRestarts(double plannedSeconds = 0)
    {
        if (!BackgroundRestart) return null;
        var d = RestartMixtureOptions.ForPlannedLength(TimeSpan.FromSeconds(plannedSeconds));
        return new RestartMixtureOptions(RestartSeconds is { } s ? TimeSpan.FromSeconds(s) : d.Spacing, RestartFirstWeight ?? d.FirstWeight,
            RestartPlannedSeconds is { } p ? TimeSpan.FromSeconds(p) : d.PlannedLength, RestartTailWeight ?? d.TailWeight);
    }

    /// <summary>Whether a Fail of an analysis step's own judge aborts when a background judge runs (the engine: no, aborting
    /// is the background's call; without background the step judge's Fail always aborts).</summary>
    public bool StepFailAborts { get; set; }

    /// <summary>
    /// A row no spec can reach (an interval below the spec's 5 s minimum or below the scrape interval), kept only to show
    /// the limit: the run refuses such an interval unless the variant says so, and reports label it "(limit)".
    /// </summary>
    public bool Limit { get; set; }

    /// <summary>
    /// Judge the scenario's load test (<see cref="ScenarioFile.LoadTestRps"/>) as the engine does: each metric gets a
    /// sibling judge fed the synthetic counts alone, both at half the metric's level; a metric passes on either and fails
    /// on either (<c>AnalysisGate.Combine</c>). Its control is the synthetic control stream when the scenario sends one,
    /// else stable's users.
    /// </summary>
    public bool LoadTest { get; set; }

    /// <summary>
    /// How much of the control's history before t = 0 the judges learn from (issue #29; null: the product's default,
    /// <see cref="SpecDefaultVariant.LookbackSeconds"/>; 0: none, as for a new workload Prometheus has no history of).
    /// </summary>
    public double? LookbackSeconds { get; set; }

    /// <summary>
    /// The predictive experiment (issue #29; <see cref="SequentialJudgeOptions.PredictivePodSeconds"/>): the Fail null from
    /// each canary pod's predicted state, forgetting over this many seconds (null: the product's band).
    /// </summary>
    public double? PredictivePodSeconds { get; set; }

    /// <summary>
    /// How long the count-aware Fail band takes a persistent pod state to last (issue #29;
    /// <see cref="SequentialJudgeOptions.CountAwareSeconds"/>); null: the band alone, as the judge was before it.
    /// </summary>
    public double? CountAwareSeconds { get; set; } = Kubestead.Analysis.PodPersistence.CountAwareSeconds;

    /// <summary>The window Fail test's alternatives and prior weights (null: the engine's grid; experiments).</summary>
    public IReadOnlyList<(double Ratio, double Weight)>? FailGrid { get; set; }

    /// <summary>The Fail test against the control's rate (D = 1): what the band costs (experiments; not valid under persistent pod effects).</summary>
    public bool NoFailBand { get; set; }

    /// <summary>Standard errors the Fail side's upper bound on φ² adds (null: the product's; experiments).</summary>
    public double? FailSigmas { get; set; }

    /// <summary>The log-sigmas of the Fail band once a history is learned (experiments; null: the product's).</summary>
    public double? FailZ { get; set; }

    /// <summary>Window edges coincide with weight changes (the engine since issue #18); false: windows on a fixed clock grid.</summary>
    public bool AlignWindows { get; set; } = true;
}
