namespace Kubestead.Rollouts.State;

/// <summary>
/// The one place that decides whether a rollout's state is written now. A forced save (phase, step, verdict, weight:
/// anything acted on) is always written; analysis progress alone is written at most once per interval and otherwise
/// held here, so a crash loses at most one interval of progress, which the next driver re-reads from the metrics.
/// Anything else that rides on the state (history) is written with whichever save goes out next.
/// </summary>
public sealed class StatusWriteThrottle(TimeSpan interval, TimeProvider clock)
{
    private DateTimeOffset? _lastWrite;
    private StoredRollout? _held;
    private RolloutStatus? _heldStatus;

    public TimeSpan Interval { get; set; } = interval;

    /// <summary>True when this save must go to the cluster now.</summary>
    public bool ShouldWrite(bool force) => force || _lastWrite is not { } last || clock.GetUtcNow() - last >= Interval;

    /// <summary>Records a write; nothing is held any more.</summary>
    public void Written()
    {
        _lastWrite = clock.GetUtcNow();
        _held = null;
        _heldStatus = null;
    }

    /// <summary>Keeps a status that was not written; returns the rollout as the driver sees it (the stored version unchanged).</summary>
    public StoredRollout Hold(StoredRollout stored, RolloutStatus status)
    {
        _held = stored;
        _heldStatus = status;
        return stored with { Status = status };
    }

    /// <summary>
    /// The state as read from the cluster, with held progress laid over it when nobody else wrote since; when another
    /// process wrote (pause, abort, promote), its state wins and the held progress is dropped (the metrics still have it).
    /// </summary>
    public StoredRollout Overlay(StoredRollout loaded)
    {
        if (_held is null || _heldStatus is null) return loaded;
        if (_held.ResourceVersion == loaded.ResourceVersion) return loaded with { Status = _heldStatus };
        _held = null;
        _heldStatus = null;
        return loaded;
    }

    /// <summary>The held rollout (as last read from the cluster) and its unwritten status, if any.</summary>
    public (StoredRollout Stored, RolloutStatus Status)? Pending => _held is { } h && _heldStatus is { } s ? (h, s) : null;
}
