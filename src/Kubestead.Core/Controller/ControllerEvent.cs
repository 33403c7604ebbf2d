namespace Kubestead.Controller;

/// <summary>What a controller replica did, for its log and its metrics. <see cref="Rollout"/> is null for replica-wide events.</summary>
public sealed record ControllerEvent(DateTimeOffset At, ControllerEventKind Kind, RolloutKey? Rollout, string Message)
{
    /// <summary>For <see cref="ControllerEventKind.Reconciled"/>: how long the look took (a drive lasts until the rollout stops or pauses).</summary>
    public TimeSpan? Elapsed { get; init; }

    /// <summary>For <see cref="ControllerEventKind.Reconciled"/>: how the look ended.</summary>
    public ReconcileOutcome? Outcome { get; init; }
}

public enum ControllerEventKind
{
    /// <summary>Took a free rollout and drives it.</summary>
    Driving,
    /// <summary>A drive stopped by itself: the rollout is paused, or finished and cleaned up.</summary>
    Stopped,
    /// <summary>Another driver holds the rollout's Lease; a timer looks again when it expires.</summary>
    Locked,
    /// <summary>Left free for others: this replica already drives its fair share.</summary>
    OverShare,
    /// <summary>The Lease was taken while this replica drove (it stalled); it wrote nothing after noticing.</summary>
    LeaseLost,
    /// <summary>A drive failed; it is tried again after a backoff.</summary>
    Failed,
    /// <summary>A watch, resync or heartbeat failed; it is retried.</summary>
    Trouble,
    Draining,
    Drained,
    /// <summary>A look at one rollout ended (<see cref="ControllerEvent.Elapsed"/>, <see cref="ControllerEvent.Outcome"/>): the reconcile-latency sample.</summary>
    Reconciled,
}

/// <summary>How one look at a rollout ended.</summary>
public enum ReconcileOutcome
{
    /// <summary>Nothing to do: it needs no driver, or waits out a failed drive's backoff.</summary>
    Skipped,
    /// <summary>Driven until it stopped by itself (ended, paused) or was gone.</summary>
    Driven,
    Locked,
    OverShare,
    LeaseLost,
    Failed,
    /// <summary>Stopped because the replica drains.</summary>
    Drained,
}

/// <summary>Receives controller events. Implementations must be cheap and must not throw.</summary>
public interface IControllerObserver
{
    void OnEvent(ControllerEvent e);
}
