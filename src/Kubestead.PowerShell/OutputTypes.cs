namespace Kubestead.PowerShell;

// Pipeline types live in Kubestead.dll (loaded in the default context); Kubestead.Core loads in a private one.
// Name and Namespace let Get-KubesteadRollout output bind by property name to Set-CanaryWeight, Get-CanaryAnalysis, ...

/// <summary>A rollout as Get-KubesteadRollout shows it.</summary>
public sealed class KubesteadRollout
{
    /// <summary>What "$(Get-KubesteadRollout shop)" and Write-Host print: where it is, not the type name.</summary>
    public override string ToString() =>
        $"{Namespace}/{Name} {Phase}{(PauseReason is null ? "" : $" ({PauseReason})")} at step {Step}/{StepCount}, canary {CanaryWeight}%";

    public string Name { get; set; } = "";
    public string Namespace { get; set; } = "";
    public string Phase { get; set; } = "";
    public string? PauseReason { get; set; }
    public string Message { get; set; } = "";
    public string MeshProvider { get; set; } = "";
    public int Step { get; set; }
    public int StepCount { get; set; }
    public string? CurrentStep { get; set; }
    public double StableWeight { get; set; }
    public double CanaryWeight { get; set; }

    /// <summary>The created baseline's share (issue #13: baseline.create), or null without one.</summary>
    public double? BaselineWeight { get; set; }
    public CanaryVerdict[] Verdicts { get; set; } = [];
    public KubesteadHistoryEntry[] History { get; set; } = [];
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? Driver { get; set; }
    /// <summary>The Lease holder driving the rollout now; null when nobody does (then it does not move).</summary>
    public string? LeaseHolder { get; set; }
    public DateTimeOffset? LastHeartbeat { get; set; }
    public DateTimeOffset? NotDrivenSince { get; set; }
    /// <summary>Wait-KubesteadRollout -Timeout ran out with the rollout still running.</summary>
    public bool TimedOut { get; set; }
    /// <summary>Without a mesh: the canary's percent of ready pods now (null with a mesh or once finished).</summary>
    public double? EffectiveCanaryShare { get; set; }
    public int? CanaryReadyPods { get; set; }
    public int? StableReadyPods { get; set; }
    /// <summary>"warm-up" while windows are not judged yet, "analysing" once they are, null before any window.</summary>
    public string? AnalysisState { get; set; }
    public DateTimeOffset? WarmupUntil { get; set; }
    /// <summary>When the current (or last) warm-up started: the later of the weight write and the canary's pods being ready.</summary>
    public DateTimeOffset? WarmupFrom { get; set; }
    /// <summary>True while a warm-up waits for the canary's pods to be ready.</summary>
    public bool WarmupAwaitingReady { get; set; }
    public int WarmupWindows { get; set; }
    /// <summary>
    /// From Set-CanaryHeaderRoute on Linkerd 1.x, where nothing is written: the header testers send to reach the canary
    /// (l5d-dtab), ready for Invoke-WebRequest -Headers. Null otherwise.
    /// </summary>
    public System.Collections.Hashtable? RequestHeaders { get; set; }
    /// <summary>The background e-processes' verdicts: one per sequential metric across the whole rollout; a Fail aborts.</summary>
    public CanaryVerdict[] BackgroundVerdicts { get; set; } = [];
}

public sealed class KubesteadHistoryEntry
{
    public DateTimeOffset At { get; set; }
    public string Kind { get; set; } = "";
    public string Message { get; set; } = "";
    public double? CanaryWeight { get; set; }
    public string Driver { get; set; } = "";
}

/// <summary>One judge's verdict with its counts.</summary>
public sealed class CanaryVerdict
{
    public string? Name { get; set; }
    public string? Namespace { get; set; }
    public string Metric { get; set; } = "";
    public string Judge { get; set; } = "";
    /// <summary>"step" for the current analysis step's judge, "background" for the whole-rollout e-process (its Fail aborts); null for counts judged ad hoc.</summary>
    public string? Scope { get; set; }
    public string Outcome { get; set; } = "";
    public long CanaryRequests { get; set; }
    public long CanaryFailures { get; set; }
    public long ControlRequests { get; set; }
    public long ControlFailures { get; set; }
    public double? PValue { get; set; }
    public double? EValue { get; set; }
    public double? Effect { get; set; }
    public string Summary { get; set; } = "";
}

/// <summary>The split as the mesh objects state it.</summary>
public sealed class CanaryWeight
{
    public string Name { get; set; } = "";
    public string Namespace { get; set; } = "";
    public string MeshProvider { get; set; } = "";
    public double StableWeight { get; set; }
    public double CanaryWeightPercent { get; set; }
    public double? ObservedCanaryShare { get; set; }
    public string Source { get; set; } = "";
    public string[] Backends { get; set; } = [];
}

public sealed class CanarySplitPlan
{
    public double RequestedWeight { get; set; }
    public double AchievableWeight { get; set; }
    public double MinimumCanaryWeight { get; set; }
    public string Precision { get; set; } = "";
    public double ExpectedCanaryRequests { get; set; }
    public double EmptyWindowProbability { get; set; }
    public TimeSpan? TimeToDetect { get; set; }
    /// <summary>Canary requests the default judge needs to pass a healthy canary; null when no traffic is enough.</summary>
    public long? RequestsToPass { get; set; }
    /// <summary>The fewest windows in which a Pass is possible at this share, however much traffic each holds (issue #29); null: never.</summary>
    public long? WindowsToPass { get; set; }
    /// <summary><see cref="WindowsToPass"/> times the window; null: never.</summary>
    public TimeSpan? TimeToPassFloor { get; set; }
    /// <summary>A created baseline's share (-Baseline), the same as the canary's; null without one.</summary>
    public double? BaselineWeight { get; set; }
    /// <summary>The Pass test's band D' for the given -PodVariance (the judge's, given the bound its verdict names); null: alike pods.</summary>
    public double? PassPodBand { get; set; }
    public string[] Warnings { get; set; } = [];
}

public sealed class KubesteadGitOpsConfig
{
    public string Name { get; set; } = "";
    public string Namespace { get; set; } = "";
    public string ArgoCdIgnoreDifferences { get; set; } = "";
    public string Flux { get; set; } = "";
    public string[] ManagedFields { get; set; } = [];
}

public sealed class KubesteadCheck
{
    public string Check { get; set; } = "";
    public string Outcome { get; set; } = "";
    public string Message { get; set; } = "";
    public string? Target { get; set; }
}

public sealed class KubesteadPlannedChange
{
    public string Target { get; set; } = "";
    public string Verb { get; set; } = "";
    public string Description { get; set; } = "";
    public string? Body { get; set; }
}

public sealed class KubesteadSandboxInfo
{
    public int ProcessId { get; set; }
    public string KubeConfig { get; set; } = "";
    public string Namespace { get; set; } = "";
    public string MeshProvider { get; set; } = "";

    /// <summary>Where the sandbox's emulated namerd listens (MeshProvider linkerd1; null otherwise): set spec.linkerd1.namerd to it.</summary>
    public string? NamerdAddress { get; set; }

    /// <summary>$env:KUBECONFIG before this sandbox started; Stop-KubesteadSandbox restores it.</summary>
    public string? PreviousKubeConfig { get; set; }
}

/// <summary>
/// One line of a rollout's history (Get-KubesteadRolloutHistory): an event (Kind step, setWeight, paused, abort, ...;
/// Message) or an analysed window of one metric (Kind window: weight, counts, failure rates, p95 latency, verdict,
/// e-values). Flat, so it goes straight to Export-Csv and filters with Where-Object.
/// </summary>
public sealed class KubesteadRolloutHistoryRecord
{
    public string Name { get; set; } = "";
    public string Namespace { get; set; } = "";
    public DateTimeOffset At { get; set; }
    public string Kind { get; set; } = "";
    public string Message { get; set; } = "";
    public double? CanaryWeight { get; set; }
    public DateTimeOffset? WindowStart { get; set; }
    /// <summary>How many analysis windows this line stands for (old windows are merged to keep the state small).</summary>
    public int? WindowsMerged { get; set; }
    public string? Metric { get; set; }
    public string? Judge { get; set; }
    public string? Outcome { get; set; }
    public long? CanaryRequests { get; set; }
    public long? CanaryFailures { get; set; }
    public double? CanaryFailureRate { get; set; }
    public long? ControlRequests { get; set; }
    public long? ControlFailures { get; set; }
    public double? ControlFailureRate { get; set; }
    public double? CanaryP95Ms { get; set; }
    public double? ControlP95Ms { get; set; }
    /// <summary>Evidence that the canary is worse than its control (the judge fails it at Threshold).</summary>
    public double? EValue { get; set; }
    /// <summary>Evidence that the canary is fine (the judge passes it at Threshold).</summary>
    public double? PassEValue { get; set; }
    public double? Threshold { get; set; }
    public string? Driver { get; set; }
}
