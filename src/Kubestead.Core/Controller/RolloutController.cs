using System.Collections.Concurrent;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Controller;

/// <summary>
/// One replica of <c>kubestead controller</c>: drives every rollout handed to controllers whose Lease is free or
/// expired, through the engine's own drive (<see cref="RolloutDriver"/>, as start and wait use it). There is no leader: each rollout's Lease
/// picks its one driver, and replicas take at most their fair share of the rollouts that need one (live heartbeats
/// divide them). Drives run side by side up to <see cref="ControllerOptions.MaxConcurrentRollouts"/>; each waits on its
/// own timers, so one slow or failing rollout holds only its own slot. Cancelling <c>RunAsync</c>'s token drains: the
/// engine finishes the write in flight, records where it stopped and releases the Lease, for another replica to go on.
/// </summary>
public sealed class RolloutController
{
    private readonly IKubernetesApi _api;
    private readonly RolloutDriver _driver;
    private readonly ControllerOptions _options;
    private readonly IControllerObserver _observer;
    private readonly RolloutWorkQueue _queue;
    private readonly RolloutInformer _informer;
    private readonly ControllerHeartbeat _heartbeat;
    private readonly ConcurrentDictionary<RolloutKey, Task> _work = new();
    private readonly ConcurrentDictionary<RolloutKey, int> _failures = new();
    private readonly ConcurrentDictionary<RolloutKey, DateTimeOffset> _backoffUntil = new();
    private readonly object _shareGate = new();
    private readonly HashSet<RolloutKey> _driving = new();
    private volatile bool _draining;

    public RolloutController(IKubernetesApi api, RolloutDriver driver, ControllerOptions options, IControllerObserver? observer = null)
    {
        _api = api;
        _driver = driver;
        _options = options;
        _observer = observer ?? NullControllerObserver.Instance;
        _queue = new RolloutWorkQueue(options.Clock);
        _informer = new RolloutInformer(api, options.Namespaces, options.Clock, _observer);
        _informer.NeedsDriver += _queue.Add;
        _informer.LeaseSeen += driver.ObserveLease;
        _heartbeat = new ControllerHeartbeat(api, options.Clock, options.HomeNamespace, options.Replica, options.HeartbeatDuration, options.Namespaces);
    }

    /// <summary>
    /// Whether this replica has seen the rollout's Lease at <paramref name="resourceVersion"/> (by its watch or a read):
    /// it judges another holder's expiry from when it saw the Lease last change, as client-go does.
    /// </summary>
    public bool HasSeenLease(RolloutKey key, string? resourceVersion) => _driver.HasSeenLease(key.Namespace, key.Name, resourceVersion);

    /// <summary>Rollouts this replica drives right now.</summary>
    public IReadOnlyList<RolloutKey> Driving
    {
        get
        {
            lock (_shareGate) return _driving.ToList();
        }
    }

    /// <summary>True once the first heartbeat and the first list are done, until draining starts.</summary>
    public bool IsReady { get; private set; }

    /// <summary>
    /// What /readyz reports: the first list is done (the watches go on from it), the replica is not draining, and its
    /// heartbeat was written within one heartbeat duration. A replica that cannot write its heartbeat is invisible to
    /// the others' fair share and to <c>start --detach</c>, so it should not count as ready either.
    /// </summary>
    public ControllerReadiness Readiness
    {
        get
        {
            if (!IsReady) return new ControllerReadiness(false, _draining ? "draining" : "initial list not done yet");
            var written = _heartbeat.LastWritten;
            var age = written is null ? (TimeSpan?)null : _options.Clock.GetUtcNow() - written.Value;
            if (age is null || age > _options.HeartbeatDuration)
                return new ControllerReadiness(false, $"heartbeat {_heartbeat.ObjectName} not written for {age?.ToString(@"hh\:mm\:ss") ?? "ever"} (limit {_options.HeartbeatDuration})");
            return new ControllerReadiness(true, $"watching {_informer.Rollouts.Count} rollout(s), driving {Driving.Count}, heartbeat {age.Value.TotalSeconds:0} s ago");
        }
    }

    /// <summary>The rollouts handed to controllers as this replica's watch last saw them, counted by phase.</summary>
    public IReadOnlyDictionary<Kubestead.Rollouts.State.RolloutPhase, int> RolloutsByPhase =>
        _informer.Rollouts.GroupBy(r => r.Phase).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>How many rollouts this replica may drive now: the rollouts needing a driver over the live replicas, rounded up.</summary>
    public int FairShare
    {
        get
        {
            var needing = _informer.Rollouts.Count(r => r.NeedsDriver);
            var share = (int)Math.Ceiling(needing / (double)Math.Max(1, _heartbeat.LiveReplicas));
            return Math.Clamp(share, 1, _options.MaxConcurrentRollouts);
        }
    }

    /// <summary>Runs until <paramref name="stop"/> is cancelled, then drains and returns.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        // Heartbeat first, so the replicas already running count this one before it takes anything; and renewed from
        // then on, not from the end of the first lists: on a loaded machine those took longer than the heartbeat's
        // duration, and a replica that looks dead while it starts makes `start --detach` refuse ("no live heartbeat").
        await _heartbeat.BeatAsync(stop).ConfigureAwait(false);
        var beating = EveryAsync(TimeSpan.FromTicks(_options.HeartbeatDuration.Ticks / 3), _heartbeat.BeatAsync, "heartbeat", stop);
        await _heartbeat.ListPeersAsync(stop).ConfigureAwait(false);
        await _informer.ResyncAsync(stop).ConfigureAwait(false);
        IsReady = true;
        var background = new[]
        {
            _informer.RunAsync(stop),
            _heartbeat.WatchPeersAsync(stop),
            beating,
            EveryAsync(_options.ResyncPeriod, _informer.ResyncAsync, "resync", stop),
        };
        await DispatchAsync(stop).ConfigureAwait(false);

        _draining = true;
        IsReady = false;
        Emit(ControllerEventKind.Draining, null, $"draining: stopping {_work.Count} drive(s) and releasing their Leases");
        _queue.Close();
        await Task.WhenAll(_work.Values.ToList()).ConfigureAwait(false);
        await Task.WhenAll(background).ConfigureAwait(false);
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _heartbeat.StopAsync(last.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or OperationCanceledException)
        {
            // The heartbeat then expires by itself.
        }
        Emit(ControllerEventKind.Drained, null, "drained: every Lease released");
    }

    /// <summary>Hands queued rollouts to drives, never more at once than the concurrency bound.</summary>
    private async Task DispatchAsync(CancellationToken stop)
    {
        using var slots = new SemaphoreSlim(_options.MaxConcurrentRollouts);
        while (true)
        {
            RolloutKey key;
            try
            {
                await slots.WaitAsync(stop).ConfigureAwait(false);
                key = await _queue.TakeAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var work = Task.Run(() => LookAtAsync(key, stop), CancellationToken.None);
            _work[key] = work;
            _ = work.ContinueWith(_ =>
            {
                _work.TryRemove(key, out Task? _);
                _queue.Done(key);
                slots.Release();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>One look at a rollout (for a drive, the whole drive), timed on the controller's clock for the reconcile-latency metric.</summary>
    private async Task LookAtAsync(RolloutKey key, CancellationToken stop)
    {
        var started = _options.Clock.GetTimestamp();
        var outcome = ReconcileOutcome.Failed;
        try
        {
            outcome = await ReconcileAsync(key, stop).ConfigureAwait(false);
        }
        finally
        {
            Emit(ControllerEventKind.Reconciled, key, $"looked at {key}: {outcome}", _options.Clock.GetElapsedTime(started), outcome);
        }
    }

    private async Task<ReconcileOutcome> ReconcileAsync(RolloutKey key, CancellationToken stop)
    {
        if (!_informer.TryGet(key, out var watched) || !watched.NeedsDriver) return ReconcileOutcome.Skipped;
        // A failed drive's own writes (its Lease taken and given back) must not cut its backoff short: its timer brings it back.
        if (_backoffUntil.TryGetValue(key, out var until) && _options.Clock.GetUtcNow() < until) return ReconcileOutcome.Skipped;
        lock (_shareGate)
        {
            if (_driving.Count >= FairShare)
            {
                // Again after ShareRecheck, or sooner when a peer's heartbeat expires (a dead peer stops counting then,
                // and this replica's share grows: without this a killed replica's rollouts waited up to ShareRecheck
                // past its Leases' expiry).
                var now = _options.Clock.GetUtcNow();
                var recheckAt = now + _options.ShareRecheck;
                if (_heartbeat.NextPeerExpiry is { } peerExpires && peerExpires + TimeSpan.FromSeconds(1) < recheckAt)
                    recheckAt = peerExpires + TimeSpan.FromSeconds(1);
                Emit(ControllerEventKind.OverShare, key, $"left for another replica: this one drives {_driving.Count}, its fair share; looking again in {Math.Max(0, (recheckAt - now).TotalSeconds):0.#} s");
                _queue.AddAt(key, recheckAt);
                return ReconcileOutcome.OverShare;
            }
            _driving.Add(key);
        }
        try
        {
            Emit(ControllerEventKind.Driving, key, $"driving {key}");
            var attempt = await DriveIfFreeAsync(key, stop).ConfigureAwait(false);
            _failures.TryRemove(key, out _);
            _backoffUntil.TryRemove(key, out _);
            if (attempt is { IsLocked: true, LockedUntil: { } expires })
            {
                Emit(ControllerEventKind.Locked, key, $"driven by {attempt.LockedBy}; looking again when its Lease expires at {expires:u}");
                // A second past expiry, so the holder's last renewal (clock skew included) is surely stale.
                _queue.AddAt(key, expires + TimeSpan.FromSeconds(1));
                return ReconcileOutcome.Locked;
            }
            if (attempt.Result is { } result)
                Emit(ControllerEventKind.Stopped, key, $"{key} is {result.Phase}{(result.Message is { Length: > 0 } m ? ": " + m : "")}");
            return ReconcileOutcome.Driven;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Draining: the engine recorded where it stopped and released the Lease.
            return ReconcileOutcome.Drained;
        }
        catch (RolloutLeaseLostException e)
        {
            Emit(ControllerEventKind.LeaseLost, key, e.Message);
            _queue.AddAfter(key, _options.HeartbeatDuration);
            return ReconcileOutcome.LeaseLost;
        }
        catch (Exception e) when (e is KubesteadException or KubernetesApiException or HttpRequestException or IOException or TimeoutException)
        {
            var n = _failures.AddOrUpdate(key, 1, (_, f) => f + 1);
            var backoff = TimeSpan.FromTicks(Math.Min(_options.MaxBackoff.Ticks, TimeSpan.FromSeconds(5).Ticks << Math.Min(n - 1, 16)));
            Emit(ControllerEventKind.Failed, key, $"drive failed ({e.Message}); trying again in {backoff}");
            _backoffUntil[key] = _options.Clock.GetUtcNow() + backoff;
            _queue.AddAfter(key, backoff);
            return ReconcileOutcome.Failed;
        }
        finally
        {
            lock (_shareGate) _driving.Remove(key);
        }
    }

    /// <summary>
    /// The engine's drive, except that a Lease held by another live driver returns at once, naming it, instead of
    /// watching: the controller looks again on its own timer when that Lease expires.
    /// </summary>
    private async Task<DriveAttempt> DriveIfFreeAsync(RolloutKey key, CancellationToken ct)
    {
        try
        {
            return new DriveAttempt(RolloutResultBuilder.From(await _driver.DriveAsync(new DriveRequest(key.Namespace, key.Name), ct).ConfigureAwait(false)));
        }
        catch (RolloutLockedException e)
        {
            return new DriveAttempt(null, e.Holder, e.ExpiresAt);
        }
        catch (RolloutNotFoundException)
        {
            return DriveAttempt.Gone;
        }
    }

    /// <summary>Runs <paramref name="action"/> every <paramref name="period"/> on the controller's clock; failures are reported and retried next time.</summary>
    private async Task EveryAsync(TimeSpan period, Func<CancellationToken, Task> action, string what, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                await Task.Delay(period, _options.Clock, stop).ConfigureAwait(false);
                await action(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException)
            {
                Emit(ControllerEventKind.Trouble, null, $"{what} failed ({e.Message}); trying again in {period}");
            }
        }
    }

    private void Emit(ControllerEventKind kind, RolloutKey? key, string message, TimeSpan? elapsed = null, ReconcileOutcome? outcome = null)
    {
        try
        {
            _observer.OnEvent(new ControllerEvent(_options.Clock.GetUtcNow(), kind, key, message) { Elapsed = elapsed, Outcome = outcome });
        }
        catch (Exception)
        {
            // An observer must not stop the controller.
        }
    }
}
