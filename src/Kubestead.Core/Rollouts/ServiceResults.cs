using Kubestead.Analysis;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.State;


namespace Kubestead.Rollouts;

/// <summary>How to reach the cluster: the kubeconfig shapes kubectl accepts, or in-cluster config when none is found.</summary>
/// <param name="RequestTimeout">Bound on each API request (watches excepted); null for the default (30 s), never infinite
/// by default so a server that accepts and never answers is reported as unavailable instead of hanging.</param>
/// <param name="OutageBudget">How long a request is retried while the API server is down, restarting or throttling (after
/// it answered once); null for the default (5 minutes). See docs/outages.md.</param>
public sealed record ConnectionOptions(string? KubeConfig = null, string? Context = null, string? Namespace = null,
    TimeSpan? RequestTimeout = null, TimeSpan? OutageBudget = null);

/// <summary>A rollout as the cmdlets and the CLI show it. <c>Name</c> and <c>Namespace</c> bind by property name.</summary>
public sealed record RolloutResult(
    string Name,
    string Namespace,
    RolloutPhase Phase,
    PauseReason? PauseReason,
    string Message,
    string MeshProvider,
    int StepIndex,
    int StepCount,
    string? CurrentStep,
    double StableWeight,
    double CanaryWeight,
    IReadOnlyList<Verdict> Verdicts,
    IReadOnlyList<RolloutHistoryEntry> History,
    DateTimeOffset StartedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt,
    string? Driver)
{
    /// <summary>Who holds the Lease now (and its last heartbeat), or since when nobody drives the rollout; null when not read.</summary>
    public DriverStatus? Driving { get; init; }

    /// <summary>The created baseline's share of traffic (the canary's, as far as 100% allows), or null when the rollout has none.</summary>
    public double? BaselineWeight { get; init; }

    /// <summary>
    /// Set by a header route on a router whose client chooses the route per request (Linkerd 1.x): the headers a tester
    /// sends to reach the canary (<c>l5d-dtab</c>), since nothing is written. Null otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, string>? RequestHeaders { get; init; }

    /// <summary>
    /// An ended rollout whose clean-up is unfinished (an interrupted abort or --replace, or a driver that stopped during
    /// scaleDownDelay): the next start, wait, resume, abort or controller finishes it.
    /// </summary>
    public bool CleanupPending { get; init; }

    /// <summary>While <see cref="CleanupPending"/>: when the kept canary may be removed (scaleDownDelay), if recorded.</summary>
    public DateTimeOffset? CanaryRemovalDueAt { get; init; }

    /// <summary>A wait gave up at its timeout with the rollout still running (not an outcome of the rollout).</summary>
    public bool TimedOut { get; init; }

    /// <summary>Without a mesh: the canary's share of ready pods now (null with a mesh, once finished, or when not read).</summary>
    public EffectiveShare? Effective { get; init; }
    /// <summary>The analysed windows (weights, counts, verdicts, e-values); null when nothing was analysed.</summary>
    public AnalysisTimeline? Timeline { get; init; }

    /// <summary>The background e-processes' latest verdicts (one per sequential metric across the whole rollout).</summary>
    public IReadOnlyList<Verdict> BackgroundVerdicts { get; init; } = Array.Empty<Verdict>();

    /// <summary>True while the analysis is in a warm-up: its windows are shown as "warm-up" and not judged.</summary>
    public bool WarmingUp { get; init; }

    /// <summary>When the current (or last) warm-up ends; null when there was none.</summary>
    public DateTimeOffset? WarmupUntil { get; init; }

    /// <summary>Windows not judged because they fell in a warm-up.</summary>
    public int WarmupWindows { get; init; }

    /// <summary>When the current (or last) warm-up started: the later of the weight write and the canary's pods being ready; null while it waits for them.</summary>
    public DateTimeOffset? WarmupFrom { get; init; }

    /// <summary>True while a warm-up waits for the canary's pods to be ready (every window until then is warm-up).</summary>
    public bool WarmupAwaitingReady { get; init; }

    /// <summary>Warm-ups restarted because the canary's pods dropped and came back.</summary>
    public int WarmupRestarts { get; init; }

    /// <summary>"warm-up" while warming up, "analysing" once windows are judged, null before any window.</summary>
    public string? AnalysisState => WarmingUp ? "warm-up" : Verdicts.Count > 0 || BackgroundVerdicts.Count > 0 ? "analysing" : null;
}

/// <summary>What to start: a spec (text or file), or the common case of a new image for an existing service.</summary>
public sealed record StartRequest
{
    public string? SpecYaml { get; init; }
    public string? SpecPath { get; init; }
    public string? Name { get; init; }
    public string? Image { get; init; }
    public string? Namespace { get; init; }
    public string? MeshProvider { get; init; }
    public string? Service { get; init; }
    /// <summary>When another version's rollout is running: abort it and start this one (else start refuses).</summary>
    public bool Replace { get; init; }
    /// <summary>Hand the rollout to a `kubestead controller` instead of driving it (start refuses when no controller's heartbeat is live).</summary>
    public bool Detach { get; init; }
    /// <summary>Where the controllers' heartbeat Leases are looked for when <see cref="Detach"/> is set.</summary>
    public string ControllerNamespace { get; init; } = Kubestead.Controller.ControllerPresence.DefaultNamespace;
}

/// <summary>One backend of a route and its weight as the mesh object states it.</summary>
public sealed record BackendWeightInfo(string Backend, double Weight);

/// <summary>The split as each mesh object says it, plus the share the metrics observed when they exist.</summary>
public sealed record WeightReport(
    string Name,
    string Namespace,
    string MeshProvider,
    double StableWeight,
    double CanaryWeight,
    IReadOnlyList<BackendWeightInfo> Backends,
    string Source,
    double? ObservedCanaryShare);

public enum HeaderMatchType { Exact, Prefix, Regex }

/// <summary>A header route to set; with <see cref="Cookie"/> it matches that cookie instead of the header.</summary>
public sealed record HeaderRouteRequest(string RouteName, string HeaderName = "x-canary", string HeaderValue = "true", HeaderMatchType MatchType = HeaderMatchType.Exact,
    Traffic.CookieMatch? Cookie = null)
{
    /// <summary>For history and messages: "x-canary: true" or "cookie canary=always".</summary>
    public string Describe() => Cookie is { } c ? $"cookie {c.Name}{(c.IsRegex ? " matching " : "=")}{c.Value}" : $"{HeaderName}: {HeaderValue}";
}

/// <summary>Verdicts per metric for a rollout, or for counts given ad hoc.</summary>
public sealed record AnalysisReport(string? Name, string? Namespace, DateTimeOffset At, IReadOnlyList<Verdict> Verdicts)
{
    /// <summary>The background e-processes' verdicts (whole rollout); their Fail is what aborts when background analysis is on.</summary>
    public IReadOnlyList<Verdict> BackgroundVerdicts { get; init; } = Array.Empty<Verdict>();
}

public enum CanaryRoutingMode { Binomial, WeightedRoundRobin, Pods }

/// <summary>Inputs of the split planner (no cluster needed).</summary>
public sealed record SplitPlanRequest(
    double CanaryWeight,
    TimeSpan Window,
    double RequestsPerSecond,
    CanaryRoutingMode Routing = CanaryRoutingMode.Binomial,
    string MeshProvider = "istio",
    int? StableReplicas = null,
    double BaselineErrorRate = 0.001,
    double DetectRatio = 5,
    bool Baseline = false)
{
    /// <summary>
    /// How far the control's pods' failure rates differ persistently (φ², as an undecided verdict reports it; 0-1, a
    /// pod-to-pod CV squared): the Pass test's band D' comes from it and the pod counts. Null: alike pods (D' = 1).
    /// </summary>
    public double? PodVariance { get; init; }

    /// <summary>The canary's pods, for the band (default 1; without a mesh the plan's own canary replicas).</summary>
    public int? CanaryReplicas { get; init; }
}

/// <summary>Precision and expected samples for a weight, window and request rate.</summary>
public sealed record SplitPlanResult(
    double RequestedWeight,
    double AchievableWeight,
    double MinimumCanaryWeight,
    string PrecisionExplanation,
    double ExpectedCanaryRequests,
    double EmptyWindowProbability,
    TimeSpan? TimeToDetect,
    long? MinimumRequestsForPass,
    IReadOnlyList<string> Warnings,
    double? BaselineWeight = null)
{
    /// <summary>The fewest windows in which a Pass is possible at this share, however much traffic each holds; null: never.</summary>
    public long? MinimumWindowsForPass { get; init; }

    /// <summary><see cref="MinimumWindowsForPass"/> times the window; null: never.</summary>
    public TimeSpan? MinimumTimeForPass { get; init; }

    /// <summary>The Pass test's band D' the plan used for a given pod variance (null: alike pods, none).</summary>
    public double? PassPodBand { get; init; }
}

/// <summary>One write a command would make (what -WhatIf and --dry-run show).</summary>
public sealed record PlannedChange(string Target, string Verb, string Description, string? Body);

public enum CheckOutcome { Passed, Warning, Failed }

/// <summary>One check of Test-KubesteadRollout: spec, an object, a CRD, a permission.</summary>
public sealed record SpecCheck(string Check, CheckOutcome Outcome, string Message, string? Target = null);

public sealed record SpecTestReport(string? Name, string? Namespace, bool IsValid, IReadOnlyList<SpecCheck> Checks);

/// <summary>What keeps a GitOps controller from reverting Kubestead's weights.</summary>
public sealed record GitOpsConfigResult(string Name, string Namespace, string ArgoCdIgnoreDifferences, string FluxGuidance, IReadOnlyList<string> ManagedFields);

/// <summary>Operations that can be planned without writing (for ShouldProcess / --dry-run).</summary>
public abstract record PlannedOperation;
public sealed record StartOperation(StartRequest Request) : PlannedOperation;
public sealed record SetWeightOperation(string Namespace, string Name, double Weight) : PlannedOperation;
public sealed record AbortOperation(string Namespace, string Name) : PlannedOperation
{
    /// <summary>The spec to abort by when neither the state nor the Lease's copy is left (abort --file).</summary>
    public SpecFile? SpecFile { get; init; }
}
public sealed record PromoteOperation(string Namespace, string Name) : PlannedOperation;
public sealed record PauseOperation(string Namespace, string Name) : PlannedOperation;
public sealed record ResumeOperation(string Namespace, string Name) : PlannedOperation;

/// <summary>Passing the approval gate a rollout waits at (issue #32).</summary>
public sealed record ApproveOperation(string Namespace, string Name, string? Approver) : PlannedOperation;
public sealed record SetHeaderRouteOperation(string Namespace, string Name, HeaderRouteRequest Route) : PlannedOperation;
public sealed record RemoveHeaderRouteOperation(string Namespace, string Name, string RouteName) : PlannedOperation;
