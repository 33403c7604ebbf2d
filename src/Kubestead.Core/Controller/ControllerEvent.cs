namespace Kubestead.Controller;

/// <summary>What a controller replica did, for its log and its metrics. <see cref="Rollout"/> is null for replica-wide events.</summary>
public sealed record ControllerEvent(DateTimeOffset At, ControllerEventKind Kind, RolloutKey? Rollout, string Message);

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
}

/// <summary>Receives controller events. Implementations must be cheap and must not throw.</summary>
public interface IControllerObserver
{
    void OnEvent(ControllerEvent e);
}
