using System.Text.Json.Nodes;
using Kubestead.Analysis;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Everything the engine needs to continue a rollout, kept in the cluster (ConfigMap <c>kubestead-&lt;rollout&gt;</c>)
/// so any process on any machine can pick it up.
/// </summary>
public sealed record RolloutStatus
{
    public const int MaxHistory = 200;

    public RolloutPhase Phase { get; init; } = RolloutPhase.Progressing;

    public PauseReason? PauseReason { get; init; }

    /// <summary>
    /// The phase a pause interrupted when it was not Progressing (Promoting): resume continues it, so a pause during a
    /// promotion never sends the rollout back through the steps the promotion skipped. Null: resume into Progressing.
    /// </summary>
    public RolloutPhase? PausedFrom { get; init; }

    public string Message { get; init; } = "";

    /// <summary>Index of the step being executed; equal to the step count once every step has run.</summary>
    public int StepIndex { get; init; }

    /// <summary>When the current step began, so a timed pause interrupted by a crash still ends on time.</summary>
    public DateTimeOffset? StepStartedAt { get; init; }

    /// <summary>The canary share Kubestead last applied, in percent.</summary>
    public double CanaryWeight { get; init; }

    /// <summary>The split as Kubestead last wrote it; drift is measured against this.</summary>
    public WrittenSplit? LastWritten { get; init; }

    public IReadOnlyList<string> HeaderRoutes { get; init; } = Array.Empty<string>();

    /// <summary>True once the canary Deployment and mesh objects the rollout needs exist.</summary>
    public bool Prepared { get; init; }

    /// <summary>The canary Deployment in use and whether Kubestead created it (and so must delete it).</summary>
    public string? CanaryDeployment { get; init; }

    public bool CanaryDeploymentCreated { get; init; }

    /// <summary>Stable's pod template when the rollout began; a different one later means someone changed stable (a hotfix).</summary>
    public JsonObject? StableTemplate { get; init; }

    /// <summary>When the canary may be removed after traffic left it (scaleDownDelay), so a resumed clean-up waits the rest.</summary>
    public DateTimeOffset? CanaryRemovalDueAt { get; init; }

    /// <summary>The canary weight before an automatic pause sent traffic back to stable; resume restores it.</summary>
    public double? WeightBeforePause { get; init; }

    /// <summary>End of the last analysed window: the next window starts here.</summary>
    public DateTimeOffset? AnalysisCursor { get; init; }

    /// <summary>Saved state of each judge, keyed by metric name, so a resumed rollout continues the same test.</summary>
    public IReadOnlyDictionary<string, JsonObject> JudgeStates { get; init; } = new Dictionary<string, JsonObject>();

    public IReadOnlyList<Verdict> LastVerdicts { get; init; } = Array.Empty<Verdict>();

    /// <summary>Saved state of each metric's background e-process (one across the whole rollout), keyed by metric name.</summary>
    public IReadOnlyDictionary<string, JsonObject> BackgroundStates { get; init; } = new Dictionary<string, JsonObject>();

    /// <summary>The background e-processes' latest verdicts; a Fail aborts whatever step is running.</summary>
    public IReadOnlyList<Verdict> BackgroundVerdicts { get; init; } = Array.Empty<Verdict>();

    /// <summary>When the current analysis step's judges started from nothing: verdicts since then rest on this step's traffic only.</summary>
    public DateTimeOffset? StepEvidenceSince { get; init; }

    /// <summary>Windows that begin before this time are warm-up: counted as such, never fed to a judge.</summary>
    public DateTimeOffset? WarmupUntil { get; init; }

    /// <summary>
    /// When the current (or last) warm-up started: the later of the weight write in effect and the moment the engine saw
    /// all the canary pods of the planned count ready; null while it waits for them (<see cref="WarmupAwaitingReady"/>).
    /// </summary>
    public DateTimeOffset? WarmupFrom { get; init; }

    /// <summary>
    /// A warm-up is due but the canary's pods are not all ready: every window is warm-up until they are, and the warm-up
    /// runs from then (for at most the ready timeout; see docs/analysis.md).
    /// </summary>
    public bool WarmupAwaitingReady { get; init; }

    /// <summary>When the engine saw the canary's ready pods fall below the planned count; null while they are all ready.</summary>
    public DateTimeOffset? CanaryUnreadySince { get; init; }

    /// <summary>Warm-ups restarted because the canary's pods dropped and came back (replaced pods); capped, see docs/analysis.md.</summary>
    public int WarmupRestarts { get; init; }

    /// <summary>True when the latest window was a warm-up window (shown as "warm-up").</summary>
    public bool WarmingUp { get; init; }

    /// <summary>Warm-up windows so far (not fed to any judge).</summary>
    public int WarmupWindows { get; init; }

    /// <summary>The approval step someone approved (its index): the engine passes that gate (issue #32).</summary>
    public int? ApprovedStep { get; init; }

    /// <summary>
    /// The idempotency keys of the webhook gates that passed in this run (issue #32): a driver never calls a passed gate
    /// again, and one that died during a call calls it again with the same key.
    /// </summary>
    public IReadOnlyList<string> PassedGates { get; init; } = Array.Empty<string>();

    public int ConsecutiveMetricErrors { get; init; }

    public int InconclusiveWindows { get; init; }

    /// <summary>Traffic is back on stable and clean-up has begun: a resumed promotion or abort only finishes the clean-up.</summary>
    public bool CleanupStarted { get; init; }

    /// <summary>After an abort or failure: true once canary objects and header routes are removed.</summary>
    public bool CleanupDone { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public IReadOnlyList<RolloutHistoryEntry> History { get; init; } = Array.Empty<RolloutHistoryEntry>();

    /// <summary>The analysed windows as a bounded time series (weights, counts, verdicts, e-values); null before analysis.</summary>
    public AnalysisTimeline? Timeline { get; init; }

    /// <summary>This status paused for <paramref name="reason"/>, remembering the phase to resume into (see <see cref="PausedFrom"/>).</summary>
    public RolloutStatus Paused(PauseReason reason, string message) => this with
    {
        Phase = RolloutPhase.Paused,
        PauseReason = reason,
        Message = message,
        PausedFrom = Phase switch
        {
            RolloutPhase.Promoting => RolloutPhase.Promoting,
            RolloutPhase.Paused => PausedFrom,
            _ => null,
        },
    };

    /// <summary>Appends to the bounded history, dropping the oldest entries past <see cref="MaxHistory"/>.</summary>
    public RolloutStatus WithHistory(RolloutHistoryEntry entry)
    {
        var history = History.Count >= MaxHistory ? History.Skip(History.Count - MaxHistory + 1) : History;
        return this with { History = history.Append(entry).ToList() };
    }
}

/// <summary>The split Kubestead wrote, when and by whom.</summary>
public sealed record WrittenSplit(double StablePercent, double CanaryPercent, DateTimeOffset At, string By);

/// <summary>One line of a rollout's history: what happened, when, and which driver did it.</summary>
public sealed record RolloutHistoryEntry(DateTimeOffset At, string Driver, string Kind, string Message, double? CanaryWeight = null)
{
    /// <summary>An abort's or rollback's write that sent all traffic to stable succeeded (statuses saved before it lack this entry).</summary>
    public const string TrafficToStableKind = "trafficToStable";
}
