namespace Kubestead.Sandbox;

/// <summary>
/// The sandbox's clock. Time moves only when told to (<see cref="Advance"/>), or, with <see cref="AutoAdvance"/>, jumps
/// to the next timer as soon as one is armed: a single driver that waits 5 minutes then waits zero wall time, so a
/// 30-minute rollout runs in milliseconds. Auto-advance assumes the engine is the only thing that arms timers and that
/// it arms one only when it is about to wait on it (true in-process; the sandbox cluster acts lazily, without timers).
/// </summary>
public sealed class VirtualClock(DateTimeOffset start, bool autoAdvance = false) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<VirtualTimer> _timers = new();
    private DateTimeOffset _now = start;

    public bool AutoAdvance { get; } = autoAdvance;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Moves time forward, firing every timer that falls due on the way, in order.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate) target = _now + by;
        while (true)
        {
            VirtualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due <= target).OrderBy(t => t.Due).ThenBy(t => t.Sequence).FirstOrDefault();
                if (next is null)
                {
                    _now = target;
                    return;
                }
                _now = next.Due > _now ? next.Due : _now;
                Reschedule(next);
            }
            next.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new VirtualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private long _sequence;

    private void Arm(VirtualTimer timer, TimeSpan due, TimeSpan period)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
            if (due == Timeout.InfiniteTimeSpan) return;
            timer.Due = _now + (due < TimeSpan.Zero ? TimeSpan.Zero : due);
            timer.Period = period;
            timer.Sequence = ++_sequence;
            _timers.Add(timer);
        }
        if (AutoAdvance) ThreadPool.UnsafeQueueUserWorkItem(_ => FireEarliest(), null);
    }

    private void FireEarliest()
    {
        VirtualTimer? next;
        lock (_gate)
        {
            next = _timers.OrderBy(t => t.Due).ThenBy(t => t.Sequence).FirstOrDefault();
            if (next is null) return;
            if (next.Due > _now) _now = next.Due;
            Reschedule(next);
        }
        next.Fire();
    }

    private void Reschedule(VirtualTimer timer)
    {
        _timers.Remove(timer);
        if (timer.Period > TimeSpan.Zero && timer.Period != Timeout.InfiniteTimeSpan)
        {
            timer.Due += timer.Period;
            timer.Sequence = ++_sequence;
            _timers.Add(timer);
        }
    }

    private void Disarm(VirtualTimer timer)
    {
        lock (_gate) _timers.Remove(timer);
    }

    private sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset Due { get; set; }
        public TimeSpan Period { get; set; }
        public long Sequence { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.Arm(this, dueTime, period);
            return true;
        }

        public void Dispose() => clock.Disarm(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
