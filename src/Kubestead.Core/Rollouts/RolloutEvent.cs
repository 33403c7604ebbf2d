using Kubestead.Analysis;

namespace Kubestead.Rollouts;

/// <summary>
/// What the engine reports while it works. Cmdlets turn these into progress bars and verbose lines; the CLI into
/// plain lines or JSON. Core itself never writes to a console.
/// </summary>
public abstract record RolloutEvent(DateTimeOffset At, string Namespace, string Rollout, string Message);

public sealed record StepStartedEvent(DateTimeOffset At, string Namespace, string Rollout, int StepIndex, int StepCount, string Step)
    : RolloutEvent(At, Namespace, Rollout, $"step {StepIndex + 1}/{StepCount}: {Step}");

public sealed record WeightAppliedEvent(DateTimeOffset At, string Namespace, string Rollout, double StablePercent, double CanaryPercent, string Source)
    : RolloutEvent(At, Namespace, Rollout, $"traffic: stable {StablePercent:0.###}% / canary {CanaryPercent:0.###}% ({Source})");

public sealed record VerdictEvent(DateTimeOffset At, string Namespace, string Rollout, Verdict Verdict)
    : RolloutEvent(At, Namespace, Rollout, $"{Verdict.Metric}: {Verdict.Outcome} - {Verdict.Summary}");

/// <summary>A wait in progress; <see cref="Remaining"/> is null when the wait has no fixed end (until a verdict).</summary>
public sealed record WaitingEvent(DateTimeOffset At, string Namespace, string Rollout, string Activity, TimeSpan Elapsed, TimeSpan? Remaining)
    : RolloutEvent(At, Namespace, Rollout, Remaining is { } r ? $"{Activity}: {Format(r)} left" : $"{Activity}: {Format(Elapsed)} elapsed")
{
    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}

public sealed record PhaseChangedEvent(DateTimeOffset At, string Namespace, string Rollout, RolloutPhase Phase, PauseReason? Reason, string Detail)
    : RolloutEvent(At, Namespace, Rollout, Reason is null ? $"phase {Phase}: {Detail}" : $"phase {Phase} ({Reason}): {Detail}");

public sealed record WarningEvent(DateTimeOffset At, string Namespace, string Rollout, string Text)
    : RolloutEvent(At, Namespace, Rollout, Text);

public sealed record VerboseEvent(DateTimeOffset At, string Namespace, string Rollout, string Text)
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
