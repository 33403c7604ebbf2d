namespace Kubestead.Bench.CanarySim;

/// <summary>
/// A rollout's steps, advanced by the engine (issue #12): an analysis step holds its weight until the engine's analysis
/// passes; a pause step holds it for <see cref="PauseSeconds"/>. After the last step the canary is promoted.
/// </summary>
public sealed class ScheduleStep
{
    public double Weight { get; set; }

    /// <summary>Null: an analysis step (advance on Pass). Otherwise a pause of this many seconds.</summary>
    public double? PauseSeconds { get; set; }

    public bool IsAnalysis => PauseSeconds is null;
}

/// <summary>A named list of steps: a grid axis of a scenario file (the default, no steps, is the static weight of the main grid).</summary>
public sealed class WeightSchedule
{
    public string Name { get; set; } = "static";
    public List<ScheduleStep> Steps { get; set; } = new();

    /// <summary>Engine-driven: each engine sets its own weight, so each engine gets its own traffic (same seed).</summary>
    public bool IsEngineDriven => Steps.Count > 0;
}
