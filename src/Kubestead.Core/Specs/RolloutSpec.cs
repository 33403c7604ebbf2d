namespace Kubestead.Specs;

/// <summary>A parsed, defaulted rollout spec (<c>apiVersion: kubestead.io/v1alpha1</c>, <c>kind: Rollout</c>).</summary>
public sealed record RolloutSpec(
    string Name,
    string Namespace,
    string Service,
    string MeshProvider,
    IstioSettings? Istio,
    GatewayApiSettings? Linkerd,
    SmiSettings? Smi,
    NoMeshSettings? None,
    string StableDeployment,
    CanarySpec Canary,
    string? BaselineDeployment,
    string VersionLabel,
    IReadOnlyList<StepSpec> Steps,
    AnalysisSpec? Analysis,
    PoliciesSpec Policies)
{
    /// <summary>How long the canary's pods stay after traffic leaves them (promotion or abort) before removal.</summary>
    public TimeSpan ScaleDownDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// At most one state write per this interval for analysis progress alone; phase, step and verdict changes are
    /// written at once. A crash loses at most this much analysis progress (re-read from the metrics), never a decision.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromMinutes(1);
}

public static class MeshProviders
{
    public const string Istio = "istio";
    public const string Linkerd = "linkerd";
    public const string Smi = "smi";
    public const string None = "none";
    public static readonly string[] All = [Istio, Linkerd, Smi, None];
}

/// <summary>Istio: subsets of one host through a DestinationRule, or two hosts (two Services) when <see cref="StableHost"/> is set.</summary>
public sealed record IstioSettings(
    string VirtualService,
    string? Route,
    string? DestinationRule,
    string StableSubset,
    string CanarySubset,
    string? StableHost,
    string? CanaryHost);

/// <summary>Linkerd 2.12+: an HTTPRoute (Gateway API or policy.linkerd.io) with separate stable and canary Services.</summary>
public sealed record GatewayApiSettings(string? HttpRoute, string ApiGroup, string CanaryService);

/// <summary>Linkerd 2.4-2.11: SMI TrafficSplit.</summary>
public sealed record SmiSettings(string? TrafficSplit, string? ApiVersion, string CanaryService);

public enum CapacityPolicy { KeepStable, KeepTotal }

/// <summary>No mesh: traffic follows ready pods.</summary>
public sealed record NoMeshSettings(CapacityPolicy Capacity, TimeSpan ReadyTimeout);

/// <summary>Either an existing Deployment, or a new image (optionally for one container) on a copy of stable.</summary>
public sealed record CanarySpec(string? Deployment, string? Image, string? Container);

public abstract record StepSpec;
public sealed record SetWeightStepSpec(double Weight) : StepSpec;
public sealed record PauseStepSpec(TimeSpan? Duration) : StepSpec;
/// <param name="InitialDelay">Windows that begin within this time of the step's start are not judged (warm-up).</param>
public sealed record AnalysisStepSpec(TimeSpan? Duration, bool UntilVerdict, TimeSpan InitialDelay = default) : StepSpec;
public sealed record SetHeaderRouteStepSpec(string Name, string HeaderName, string HeaderValue, string MatchType) : StepSpec;
public sealed record RemoveHeaderRouteStepSpec(string Name) : StepSpec;

public sealed record AnalysisSpec(
    TimeSpan Interval,
    int StartingStep,
    IReadOnlyList<MetricSpec> Metrics,
    int ConsecutiveErrorLimit,
    int InconclusiveWindowLimit)
{
    /// <summary>Windows that begin within this time after the canary first gets traffic are not judged.</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Also warm up after every later weight change.</summary>
    public bool WarmupAfterWeightChange { get; init; }

    /// <summary>
    /// One anytime-valid e-process per sequential metric across the whole rollout, whose Fail aborts at any moment;
    /// steps still need a Pass from their own evidence. Fixed-sample judges never run in the background.
    /// </summary>
    public bool Background { get; init; } = true;
}

/// <summary>Where a metric's counts come from.</summary>
public sealed record MetricProviderSpec(
    string Kind,
    string? Address,
    string? Builtin,
    string? RequestsQuery,
    string? FailuresQuery,
    string? BearerTokenFile,
    TimeSpan Timeout);

public sealed record JudgeSpec(
    string Kind,
    double Alpha,
    double DetectRatio,
    double AllowedIncrease,
    double Confidence,
    double? MinSuccessRate,
    double? MaxP99Ms,
    double? LatencyThresholdMs);

public sealed record MetricSpec(string Name, MetricProviderSpec Provider, JudgeSpec Judge);

public sealed record PoliciesSpec(string OnDrift, string OnInsufficientData, string OnMetricErrors, string Promotion)
{
    /// <summary>Keep the canary's weight during an automatic pause (default: traffic returns to stable until resumed).</summary>
    public bool HoldWeightWhilePaused { get; init; }
}
