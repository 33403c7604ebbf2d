using Kubestead.Analysis;
using Kubestead.Rollouts.State;


namespace Kubestead.Rollouts.Engine;

/// <summary>
/// What the engine reports while it works. Cmdlets turn these into progress bars and verbose lines; the CLI into
/// plain lines or JSON. Core itself never writes to a console.
/// </summary>
public abstract record RolloutEvent(DateTimeOffset At, string Namespace, string Rollout, string Message)
{
    /// <summary>
    /// Told by a process that follows another one's drive from the recorded state (a watching <c>wait</c>), not by the
    /// driver itself: hosts print it alike, but it is never recorded again (as a Kubernetes Event), since the driver
    /// recorded it, and a follower writes nothing.
    /// </summary>
    public bool Followed { get; init; }
}

public sealed record StepStartedEvent(DateTimeOffset At, string Namespace, string Rollout, int StepIndex, int StepCount, string Step)
    : RolloutEvent(At, Namespace, Rollout, $"step {StepIndex + 1}/{StepCount}: {Step}");

public sealed record WeightAppliedEvent(DateTimeOffset At, string Namespace, string Rollout, double StablePercent, double CanaryPercent, string Source)
    : RolloutEvent(At, Namespace, Rollout, $"traffic: stable {StablePercent:0.###}% / canary {CanaryPercent:0.###}% ({Source})");

public sealed record VerdictEvent(DateTimeOffset At, string Namespace, string Rollout, Verdict Verdict)
    : RolloutEvent(At, Namespace, Rollout, $"{Verdict.Metric}: {Verdict.Outcome} - {Verdict.Summary}");

/// <summary>A background e-process's verdict (one per sequential metric across the whole rollout; its Fail aborts).</summary>
public sealed record BackgroundVerdictEvent(DateTimeOffset At, string Namespace, string Rollout, Verdict Verdict)
    : RolloutEvent(At, Namespace, Rollout, $"{Verdict.Metric} (background): {Verdict.Outcome} - {Verdict.Summary}");

/// <summary>A window inside a warm-up: its counts were not fed to any judge.</summary>
public sealed record WarmupWindowEvent(DateTimeOffset At, string Namespace, string Rollout, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, DateTimeOffset WarmupUntil)
    : RolloutEvent(At, Namespace, Rollout, $"warm-up: window {WindowStart:HH:mm:ss}-{WindowEnd:HH:mm:ss} not judged (warm-up until {WarmupUntil:HH:mm:ss})");

/// <summary>
/// A wait in progress. <see cref="Remaining"/> is null when the wait has no fixed end. For an analysis that runs until a
/// verdict, <see cref="CanaryRequests"/> is what the judges have seen and <see cref="CanaryRequestsNeeded"/> what the
/// sample planner expects a passing verdict to need (null when the judge has no such estimate).
/// </summary>
public sealed record WaitingEvent(DateTimeOffset At, string Namespace, string Rollout, string Activity, TimeSpan Elapsed, TimeSpan? Remaining,
        long? CanaryRequests = null, long? CanaryRequestsNeeded = null)
    : RolloutEvent(At, Namespace, Rollout, Describe(Activity, Elapsed, Remaining, CanaryRequests, CanaryRequestsNeeded))
{
    /// <summary>
    /// How full a progress bar is (0-100): canary requests against the estimate when the wait ends at a verdict,
    /// otherwise elapsed time against the wait's length; null when neither is known.
    /// </summary>
    public int? PercentComplete => (CanaryRequests, CanaryRequestsNeeded, Remaining) switch
    {
        ({ } seen, { } needed, _) when needed > 0 => (int)Math.Clamp(100.0 * seen / needed, 0, 99),
        (_, _, { } left) when Elapsed + left > TimeSpan.Zero => (int)Math.Clamp(100.0 * Elapsed.Ticks / (Elapsed + left).Ticks, 0, 100),
        _ => null,
    };

    /// <summary>Whole seconds left of a wait with a fixed end (what a progress bar shows as time left); null otherwise.</summary>
    public int? SecondsRemaining => Remaining is { } r ? (int)Math.Ceiling(Math.Max(0, r.TotalSeconds)) : null;

    private static string Describe(string activity, TimeSpan elapsed, TimeSpan? remaining, long? seen, long? needed)
    {
        var time = remaining is { } r ? $"{Format(r)} left" : $"{Format(elapsed)} elapsed";
        return seen is { } s && needed is { } n
            ? $"{activity}: {time}; canary requests {s} of ~{n} expected for a verdict"
            : $"{activity}: {time}";
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}

public sealed record PhaseChangedEvent(DateTimeOffset At, string Namespace, string Rollout, RolloutPhase Phase, PauseReason? Reason, string Detail)
    : RolloutEvent(At, Namespace, Rollout, Reason is null ? $"phase {Phase}: {Detail}" : $"phase {Phase} ({Reason}): {Detail}");

public sealed record WarningEvent(DateTimeOffset At, string Namespace, string Rollout, string Text)
    : RolloutEvent(At, Namespace, Rollout, Text);

public record VerboseEvent(DateTimeOffset At, string Namespace, string Rollout, string Text)
    : RolloutEvent(At, Namespace, Rollout, Text);

/// <summary>Receives engine events. Implementations must be cheap and must not throw.</summary>
public interface IRolloutObserver
{
    void OnEvent(RolloutEvent e);
}

public sealed class NullRolloutObserver : IRolloutObserver
{
    public static readonly NullRolloutObserver Instance = new();

    public void OnEvent(RolloutEvent e)
    {
    }
}
