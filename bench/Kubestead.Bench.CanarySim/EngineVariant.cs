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
    /// Experiment, not in the engine: when positive, the background test is a mixture of judges started every this many
    /// seconds (<see cref="RestartMixture"/>), so a late fault does not have to win back the wealth a long good stretch drained.
    /// </summary>
    public double BackgroundRestartSeconds { get; set; }

    /// <summary>Whether a Fail of an analysis step's own judge aborts when a background judge runs (the engine: no, aborting
    /// is the background's call; without background the step judge's Fail always aborts).</summary>
    public bool StepFailAborts { get; set; }

    /// <summary>Window edges coincide with weight changes (the engine since issue #18); false: windows on a fixed clock grid.</summary>
    public bool AlignWindows { get; set; } = true;
}
