namespace Kubestead.Rollouts.Engine;

/// <summary>
/// The engine's compiled form of a spec: durations resolved, defaults applied, mesh settings left to the router.
/// The state machine works on this, never on YAML.
/// </summary>
public sealed record RolloutPlan(
    string Name,
    string Namespace,
    IReadOnlyList<PlanStep> Steps,
    AnalysisPlan? Analysis,
    RolloutPolicies Policies)
{
    /// <summary>The spec's webhook gates (<c>spec.webhooks</c>), called by the executor at their points.</summary>
    public IReadOnlyList<Kubestead.Gates.WebhookGateSpec> Webhooks { get; init; } = [];
}

/// <summary>Analysis: one window every <see cref="Interval"/>, from step <see cref="StartingStep"/> on.</summary>
public sealed record AnalysisPlan(TimeSpan Interval, int StartingStep, int ConsecutiveErrorLimit, int InconclusiveWindowLimit)
{
    /// <summary>Windows within this time after the canary first gets traffic are not judged.</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Warm up again after every later weight change.</summary>
    public bool WarmupAfterWeightChange { get; init; }

    /// <summary>Sequential metrics also feed one e-process across the whole rollout whose Fail aborts at any moment.</summary>
    public bool Background { get; init; }

    /// <summary>
    /// How much of the control's history the judges learn from when the analysis begins (<c>spec.analysis.lookback</c>,
    /// whose default the spec applies); zero here (a plan built by hand) reads none.
    /// </summary>
    public TimeSpan Lookback { get; init; }
}

public enum DriftPolicy { Pause, Reassert }

public enum InconclusivePolicy { Pause, Fail }

public enum PromotionMode { Full, WeightOnly }

public sealed record RolloutPolicies(
    DriftPolicy OnDrift = DriftPolicy.Pause,
    InconclusivePolicy OnInsufficientData = InconclusivePolicy.Pause,
    InconclusivePolicy OnMetricErrors = InconclusivePolicy.Fail,
    PromotionMode Promotion = PromotionMode.Full,
    TimeSpan? ReadyTimeout = null,
    TimeSpan? ScaleDownDelay = null,
    bool HoldWeightWhilePaused = false)
{
    /// <summary>At most one state write per this interval for analysis progress alone (decisions are written at once).</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Argo Rollouts' default: long enough for sidecars to stop sending in-flight requests to the canary.</summary>
    public static readonly TimeSpan DefaultScaleDownDelay = TimeSpan.FromSeconds(30);
}

public abstract record PlanStep
{
    public abstract string Describe();
}

public sealed record SetWeightPlanStep(double Weight) : PlanStep
{
    public override string Describe() => $"setWeight {Weight:0.###}%";
}

/// <summary>A pause; without a duration it lasts until someone resumes the rollout.</summary>
public sealed record PausePlanStep(TimeSpan? Duration) : PlanStep
{
    public override string Describe() => Duration is { } d ? $"pause {Durations.Format(d)}" : "pause until resumed";
}

/// <summary>
/// Waits for the analysis: for a duration (then needs a Pass), or until every judge gives a verdict. Windows that begin
/// within <see cref="InitialDelay"/> of the step's start are warm-up, not judged.
/// </summary>
public sealed record AnalysisPlanStep(TimeSpan? Duration, bool UntilVerdict, TimeSpan InitialDelay = default) : PlanStep
{
    public override string Describe() => (Duration, UntilVerdict) switch
    {
        ({ } d, true) => $"analysis until verdict (at most {Durations.Format(d)})",
        ({ } d, false) => $"analysis for {Durations.Format(d)}",
        _ => "analysis until verdict",
    };
}

public sealed record SetHeaderRoutePlanStep(HeaderRouteRequest Route) : PlanStep
{
    public override string Describe() => $"setHeaderRoute {Route.RouteName} ({Route.Describe()})";
}

public sealed record RemoveHeaderRoutePlanStep(string RouteName) : PlanStep
{
    public override string Describe() => $"removeHeaderRoute {RouteName}";
}

/// <summary>
/// Pauses the rollout until someone approves it (<c>kubestead approve</c>, <c>Approve-KubesteadRollout</c>); resume alone
/// does not pass it. With a <see cref="Timeout"/> a driver watching the pause aborts, or turns it into a plain pause,
/// once that long has passed without an approval.
/// </summary>
public sealed record ApprovalPlanStep(TimeSpan? Timeout, bool AbortOnTimeout) : PlanStep
{
    public override string Describe() => Timeout is { } t
        ? $"approval (within {Durations.Format(t)}, then {(AbortOnTimeout ? "abort" : "stay paused")})"
        : "approval";
}

internal static class Durations
{
    public static string Format(TimeSpan d)
    {
        if (d == TimeSpan.Zero) return "0s";
        var parts = new List<string>();
        if (d.Days > 0 || d.Hours > 0) parts.Add($"{(int)d.TotalHours}h");
        if (d.Minutes > 0) parts.Add($"{d.Minutes}m");
        if (d.Seconds > 0 || d.Milliseconds > 0) parts.Add(d.Milliseconds > 0 ? $"{d.Seconds + d.Milliseconds / 1000.0:0.###}s" : $"{d.Seconds}s");
        return string.Concat(parts);
    }
}
