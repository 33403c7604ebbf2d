using System.Threading.Channels;

namespace Kubestead.Controller;

/// <summary>
/// Rollouts waiting for a look, as client-go's work queue keeps them: a key is queued at most once, a key being worked
/// on is never handed out a second time (an event meanwhile marks it to be looked at again when the work ends), and
/// a delayed add is a timer on the controller's <see cref="TimeProvider"/> (per-rollout timers, no polling loop).
/// </summary>
public sealed class RolloutWorkQueue(TimeProvider clock) : IDisposable
{
    private readonly object _gate = new();
    private readonly Channel<RolloutKey> _ready = Channel.CreateUnbounded<RolloutKey>();
    private readonly HashSet<RolloutKey> _queued = new();
    private readonly HashSet<RolloutKey> _working = new();
    private readonly HashSet<RolloutKey> _again = new();
    private readonly Dictionary<RolloutKey, (ITimer Timer, DateTimeOffset Due)> _timers = new();
    private bool _closed;

    /// <summary>Queues the key now (a no-op when it is already queued; remembered for later when it is being worked on).</summary>
    public void Add(RolloutKey key)
    {
        lock (_gate)
        {
            if (_closed) return;
            if (_working.Contains(key))
            {
                _again.Add(key);
                return;
            }
            if (_queued.Add(key)) _ready.Writer.TryWrite(key);
        }
    }

    /// <summary>Queues the key after <paramref name="delay"/>; an earlier pending timer for the same key wins.</summary>
    public void AddAfter(RolloutKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }
        AddAt(key, clock.GetUtcNow() + delay);
    }

    /// <summary>
    /// Queues the key when the clock reaches <paramref name="due"/> (now when that has passed); an earlier pending timer
    /// for the same key wins. For a time already known (a Lease's or a heartbeat's expiry): a delay computed by the caller
    /// would slip by however far the clock moved before the timer was set (with a test's fast virtual clock, seconds).
    /// </summary>
    public void AddAt(RolloutKey key, DateTimeOffset due)
    {
        var fireNow = false;
        lock (_gate)
        {
            if (_closed) return;
            if (_timers.TryGetValue(key, out var pending))
            {
                if (pending.Due <= due) return;
                pending.Timer.Dispose();
                _timers.Remove(key);
            }
            if (due <= clock.GetUtcNow()) fireNow = true;
            else
            {
                var timer = clock.CreateTimer(_ => Fire(key), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _timers[key] = (timer, due);
                // A timer counts its delay from the clock's reading when it is set: set it again if the clock jumped
                // between that reading and ours (a virtual clock moved by another thread), so it fires at due and not
                // a jump later. A real clock moves microseconds here, under the tolerance.
                for (var attempt = 0; attempt < 8; attempt++)
                {
                    var now = clock.GetUtcNow();
                    timer.Change(due > now ? due - now : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
                    if (due <= now || clock.GetUtcNow() - now < TimeSpan.FromMilliseconds(1)) break;
                }
            }
        }
        if (fireNow) Add(key);
    }

    private void Fire(RolloutKey key)
    {
        lock (_gate)
        {
            if (_timers.Remove(key, out var t)) t.Timer.Dispose();
        }
        Add(key);
    }

    /// <summary>The next key to work on; the caller must call <see cref="Done"/> with it.</summary>
    public async ValueTask<RolloutKey> TakeAsync(CancellationToken ct)
    {
        while (true)
        {
            var key = await _ready.Reader.ReadAsync(ct).ConfigureAwait(false);
            lock (_gate)
            {
                if (!_queued.Remove(key)) continue;
                _working.Add(key);
                return key;
            }
        }
    }

    /// <summary>Ends the work on a key; when something happened to it meanwhile, it is queued again.</summary>
    public void Done(RolloutKey key)
    {
        bool again;
        lock (_gate)
        {
            _working.Remove(key);
            again = _again.Remove(key);
        }
        if (again) Add(key);
    }

    /// <summary>How many keys are waiting (not counting delayed ones).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate) return _queued.Count;
        }
    }

    /// <summary>Stops handing out work and cancels every timer (a draining controller takes nothing new).</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (var (timer, _) in _timers.Values) timer.Dispose();
            _timers.Clear();
            _ready.Writer.TryComplete();
        }
    }

    public void Dispose() => Close();
}
