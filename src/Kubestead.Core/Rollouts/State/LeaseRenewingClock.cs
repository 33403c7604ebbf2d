using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>
/// The clock a drive waits on: the host's clock, except that a one-shot wait longer than the Lease's renew interval is
/// cut into pieces of at most that interval, and the Lease is renewed between pieces. Every wait of a drive (step
/// timers, readiness polls, promotion's wait for stable, scaleDownDelay, retry back-off) thereby keeps the Lease alive,
/// however long it is. A timer is used instead of a background loop so that a virtual clock that jumps to the next armed
/// timer (the sandbox's) still sees only the waits the engine is in.
/// </summary>
public sealed class LeaseRenewingClock : TimeProvider
{
    private readonly TimeProvider _inner;
    private readonly RolloutLease _lease;
    private readonly Action<RolloutLeaseLostException> _onLost;

    /// <param name="onLost">Called (on a pool thread) when a renewal finds the Lease taken by another driver.</param>
    public LeaseRenewingClock(TimeProvider inner, RolloutLease lease, Action<RolloutLeaseLostException> onLost)
    {
        _inner = inner;
        _lease = lease;
        _onLost = onLost;
    }

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

    public override long GetTimestamp() => _inner.GetTimestamp();

    public override long TimestampFrequency => _inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero
            ? _inner.CreateTimer(callback, state, dueTime, period) // periodic timers are not the engine's waits: left alone
            : new RenewingTimer(this, callback, state, dueTime);

    /// <summary>Renews when due; a lost Lease stops the drive, an unreachable API server does not (yet).</summary>
    private async Task RenewBetweenPiecesAsync()
    {
        try
        {
            await _lease.RenewIfDueAsync().ConfigureAwait(false);
        }
        catch (RolloutLeaseLostException lost)
        {
            _onLost(lost);
        }
        catch (Exception)
        {
            // The server did not answer: the next piece tries again, and a write after the Lease went unrenewed for its
            // duration renews it first and fails if another driver took it (RolloutLease.EnsureHeldAsync).
        }
    }

    /// <summary>
    /// A one-shot timer in pieces. The next piece is armed only once the renewal between pieces has finished and is
    /// measured to the original deadline, so the wait ends when it would have (give or take the renewal), and a virtual
    /// clock does not jump past a renewal that is still under way.
    /// </summary>
    private sealed class RenewingTimer : ITimer
    {
        private readonly object _gate = new();
        private readonly LeaseRenewingClock _clock;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly ITimer _piece;
        private long _deadline;
        private long _generation;
        private bool _disposed;

        public RenewingTimer(LeaseRenewingClock clock, TimerCallback callback, object? state, TimeSpan dueTime)
        {
            _clock = clock;
            _callback = callback;
            _state = state;
            _piece = clock._inner.CreateTimer(_ => OnPiece(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Change(dueTime, Timeout.InfiniteTimeSpan);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_gate)
            {
                _generation++;
                if (dueTime == Timeout.InfiniteTimeSpan) return _piece.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                var due = dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime;
                _deadline = _clock._inner.GetTimestamp() + (long)(due.TotalSeconds * _clock._inner.TimestampFrequency);
                return ArmNext();
            }
        }

        private TimeSpan Remaining => TimeSpan.FromSeconds((double)(_deadline - _clock._inner.GetTimestamp()) / _clock._inner.TimestampFrequency);

        private bool ArmNext()
        {
            var remaining = Remaining;
            var piece = remaining > _clock._lease.RenewInterval ? _clock._lease.RenewInterval : remaining;
            return _piece.Change(piece < TimeSpan.Zero ? TimeSpan.Zero : piece, Timeout.InfiniteTimeSpan);
        }

        private void OnPiece()
        {
            long generation;
            lock (_gate)
            {
                if (_disposed) return;
                generation = _generation;
                if (Remaining <= TimeSpan.Zero) generation = -1;
            }
            if (generation == -1)
            {
                _callback(_state);
                return;
            }
            _ = _clock.RenewBetweenPiecesAsync().ContinueWith(_ =>
            {
                lock (_gate)
                {
                    if (!_disposed && _generation == generation) ArmNext();
                }
            }, TaskScheduler.Default);
        }

        public void Dispose()
        {
            lock (_gate) _disposed = true;
            _piece.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
