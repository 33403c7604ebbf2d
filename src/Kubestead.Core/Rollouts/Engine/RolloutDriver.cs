using Kubestead.Analysis;
using Kubestead.Gates;
using Kubestead.Kubernetes;
using Kubestead.Notifications;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Engine;

/// <summary>
/// The one engine entry point every host calls: drive rollout ns/name until it ends, until it pauses, or until the host
/// cancels the drive or loses the rollout's Lease. The host supplies the clock, observer and identity
/// (<see cref="RolloutHostContext"/>) and the <see cref="CancellationToken"/> of each drive; the Lease is either taken
/// here under the host's identity (<see cref="DriveAsync(DriveRequest, CancellationToken)"/>) or handed in by a host
/// that already holds it (<see cref="DriveHeldAsync"/>).
/// <para>
/// Hosts: the CLI and the cmdlets drive one rollout per process through <c>KubesteadService</c> (start, wait, resume,
/// promote). <c>kubestead controller</c> drives many rollouts from one process with one <see cref="RolloutDriver"/> per
/// replica; replicas share the rollouts through their Leases (a <see cref="RolloutLockedException"/> means another
/// replica drives it). One instance may drive several rollouts at once; it keeps no state between drives.
/// </para>
/// <para>
/// Contract: a drive returns the rollout's state as the cluster holds it when it stopped (terminal, or paused);
/// cancellation throws <see cref="OperationCanceledException"/> after recording where the drive stopped and releasing
/// the Lease (best effort, bounded by <see cref="RolloutHostContext.ReleaseTimeout"/>); a Lease taken by someone else
/// throws <see cref="RolloutLeaseLostException"/>. Every step is recorded before the next begins, so any host can take
/// over from whatever point a drive stopped.
/// </para>
/// </summary>
public sealed class RolloutDriver
{
    private readonly IKubernetesApi _api;
    private readonly RolloutStateStore _store;
    private readonly RuntimeFactory _runtimes;
    private readonly LeaseObservations _observations = new();

    public RolloutDriver(IKubernetesApi api, RolloutStateStore store, RuntimeFactory runtimes, RolloutHostContext host)
    {
        _api = api;
        _store = store;
        _runtimes = runtimes;
        Host = host;
        // One Secret cache for the gates and the notifications: a rollout's calls read each Secret once per 30 s.
        var secrets = new SecretCache(api, host.Clock);
        Notifications = new RolloutNotifications(secrets, host.Notifications, host.Clock, host.Driver);
        // Gates share the notifications' network settings (a test's handler); their timeouts, like retries, are real time.
        Gates = new WebhookGateCaller(
            new HttpClient(host.Notifications.Handler ?? new SocketsHttpHandler(), disposeHandler: host.Notifications.Handler is null) { Timeout = Timeout.InfiniteTimeSpan },
            secrets, host.Notifications.RetryClock);
        Executor = new RolloutExecutor(store, host.Clock, host.Observer, host.Driver) { PollInterval = host.PollInterval, Gates = Gates };
    }

    /// <summary>Sends a rollout's events to the sinks of its spec; every drive reports through it, so every host notifies.</summary>
    public RolloutNotifications Notifications { get; }

    /// <summary>Calls the webhook gates of the rollouts this host drives (spec.webhooks).</summary>
    public WebhookGateCaller Gates { get; }

    /// <summary>The state machine's actions reporting to <paramref name="observer"/> (a one-shot command's notifier).</summary>
    public RolloutExecutor ExecutorReportingTo(IRolloutObserver observer) =>
        new(_store, Host.Clock, observer, Host.Driver) { PollInterval = Host.PollInterval, Gates = Gates };

    public RolloutHostContext Host { get; }

    /// <summary>The state machine's actions, for the one-shot commands that act outside a drive (abort, restart after drift).</summary>
    public RolloutExecutor Executor { get; }

    private DateTimeOffset Now => Host.Clock.GetUtcNow();

    /// <summary>Records a sight of the rollout's Lease made outside a drive (a host's watch), for judging its expiry.</summary>
    public void ObserveLease(string ns, string name, string? resourceVersion) => _observations.See(ns, name, resourceVersion, Host.Clock);

    /// <summary>Whether the rollout's Lease was last seen at <paramref name="resourceVersion"/>.</summary>
    public bool HasSeenLease(string ns, string name, string? resourceVersion) => _observations.HasSeen(ns, name, resourceVersion);

    /// <summary>
    /// Drives the rollout from its recorded state. A rollout already ended and cleaned up, or paused, is returned as it is
    /// without taking its Lease. When another live driver holds the Lease, see <see cref="DriveRequest.WatchWhileLocked"/>.
    /// </summary>
    public async Task<StoredRollout> DriveAsync(DriveRequest request, CancellationToken ct)
    {
        if (!request.WatchWhileLocked)
        {
            var stored = await _store.LoadAsync(request.Namespace, request.Name, ct).ConfigureAwait(false);
            return IsDone(stored, request) ? stored : await DriveAsync(stored, ct, request.ThroughPauses).ConfigureAwait(false);
        }
        return await FollowOrDriveAsync(request, ct).ConfigureAwait(false);
    }

    /// <summary>A drive that ends here: ended and cleaned up, or paused for a reason the request does not drive through.</summary>
    private static bool IsDone(StoredRollout stored, DriveRequest request) =>
        stored.Status.Phase.IsTerminal() && stored.Status.CleanupDone
        || stored.Status.Phase == RolloutPhase.Paused && !(request.ThroughPauses && RolloutExecutor.IsWatchedPause(stored.Status));

    /// <summary>
    /// Drives the rollout, or, while another live driver holds its Lease, follows it: every
    /// <see cref="RolloutHostContext.FollowInterval"/> the state and the Lease are read (never written), each change is
    /// reported as that driver reported it (<see cref="RolloutFollower"/>), and the drive returns when the rollout ends
    /// or pauses. The Lease is taken only when it is free or its holder stopped renewing it (unchanged for its duration on
    /// this host's clock, as <see cref="RolloutLease.AcquireAsync"/> judges); the drive then goes on from the state read
    /// under it.
    /// </summary>
    private async Task<StoredRollout> FollowOrDriveAsync(DriveRequest request, CancellationToken ct)
    {
        RolloutFollower? follower = null;
        // Once per spec, not per look: a follower looks every few seconds, and this reads the metrics store.
        (string SpecYaml, ScrapeIntervalResolution Scrape)? scrape = null;
        while (true)
        {
            var stored = await _store.LoadAsync(request.Namespace, request.Name, ct).ConfigureAwait(false);
            follower?.Report(stored);
            if (IsDone(stored, request)) return stored;
            // Refused before the Lease is taken: a spec that cannot be driven must leave nothing changed.
            var spec = DrivableSpec(stored);
            if (scrape?.SpecYaml != stored.SpecYaml) scrape = (stored.SpecYaml, await ReadScrapeIntervalAsync(spec, ct).ConfigureAwait(false));
            RolloutLease lease;
            try
            {
                lease = await RolloutLease.AcquireAsync(_api, Host.Clock, stored.Namespace, stored.Name, Host.Driver, Host.LeaseDuration, ct, _observations,
                    stored.SpecYaml).ConfigureAwait(false);
            }
            catch (RolloutLockedException locked)
            {
                follower ??= new RolloutFollower(Host.Observer, Host.Clock, Host.PollInterval);
                follower.Locked(stored, locked, Host.FollowInterval);
                await Task.Delay(Host.FollowInterval, Host.Clock, ct).ConfigureAwait(false);
                continue;
            }
            try
            {
                if (follower is not null)
                {
                    // The previous holder may have written between the read above and the takeover: drive from what it left.
                    stored = await _store.LoadAsync(request.Namespace, request.Name, ct).ConfigureAwait(false);
                    follower.Report(stored);
                    if (IsDone(stored, request)) return stored;
                }
                return await DriveHeldAsync(stored, lease, ct, request.ThroughPauses, scrape: scrape.Value.Scrape).ConfigureAwait(false);
            }
            finally
            {
                await ReleaseLeaseAsync(lease, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Drives from a state the host has just read or written (resume, promote), under a Lease taken and released here.</summary>
    public async Task<StoredRollout> DriveAsync(StoredRollout stored, CancellationToken ct, bool throughPauses = false)
    {
        // Refused before the Lease is taken: a spec that cannot be driven must leave nothing changed.
        var spec = DrivableSpec(stored);
        var scrape = await ReadScrapeIntervalAsync(spec, ct).ConfigureAwait(false);
        var lease = await AcquireLeaseAsync(stored.Namespace, stored.Name, ct, stored.SpecYaml).ConfigureAwait(false);
        try
        {
            return await DriveHeldAsync(stored, lease, ct, throughPauses, scrape: scrape).ConfigureAwait(false);
        }
        finally
        {
            await ReleaseLeaseAsync(lease, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Drives under a Lease the host holds and will release (start's transaction; a controller that took it first). While
    /// it drives, every wait renews the Lease (<see cref="LeaseRenewingClock"/>) and every write first checks it is still
    /// held (<see cref="LeaseGuardedApi"/>); a renewal that finds it taken stops the drive with <see cref="RolloutLeaseLostException"/>.
    /// </summary>
    /// <param name="givenSpec">The spec as the caller read it (start's own file), with the credentials the stored copy
    /// has masked; null: the stored copy, refused when it lost credentials the drive needs.</param>
    /// <param name="scrape">The metrics' scrape interval as <see cref="ReadScrapeIntervalAsync"/> read it before the Lease
    /// was taken; null: read here, with the Lease held but not yet renewed (a slow metrics store can let it lapse).</param>
    public async Task<StoredRollout> DriveHeldAsync(StoredRollout stored, RolloutLease lease, CancellationToken ct, bool throughPauses = false,
        RolloutSpec? givenSpec = null, ScrapeIntervalResolution? scrape = null)
    {
        var spec = givenSpec ?? DrivableSpec(stored);
        spec = (scrape ?? await ReadScrapeIntervalAsync(spec, ct).ConfigureAwait(false)).Spec;
        using var drive = CancellationTokenSource.CreateLinkedTokenSource(ct);
        RolloutLeaseLostException? lost = null;
        var clock = new LeaseRenewingClock(Host.Clock, lease, e =>
        {
            lost = e;
            try
            {
                drive.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The drive ended while the renewal ran: nothing left to stop.
            }
        });
        var api = new LeaseGuardedApi(_api, lease);
        // Notifications ride on the observer: the engine reports as it always does, and never waits for a webhook.
        await using var notifier = await Notifications.OpenAsync(spec, Host.Observer, ct).ConfigureAwait(false);
        // Declared after the notifier, so disposed before it: the load test is stopped and awaited on every path out.
        await using var loadTest = new Kubestead.LoadTests.LoadTestSession(Host.LoadGenerator, spec, stored.Status, notifier, Host.Clock);
        var store = new RolloutStateStore(api);
        var executor = new RolloutExecutor(store, clock, loadTest, Host.Driver) { PollInterval = Host.PollInterval, Gates = Gates };
        var runtime = _runtimes.For(api, clock).Create(spec);
        try
        {
            var driven = await executor.DriveAsync(stored, runtime, lease, drive.Token, throughPauses).ConfigureAwait(false);
            return await notifier.CloseAsync(driven, store).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lost is not null && !ct.IsCancellationRequested)
        {
            throw lost;
        }
        catch (Exception e) when (e is RolloutNotFoundException or KubernetesApiException { IsNotFound: true } && !ct.IsCancellationRequested)
        {
            // Something the drive read or wrote is gone: when it is the state itself, stop and say what is left (issue #26 item 9).
            if (await _store.TryLoadAsync(stored.Namespace, stored.Name, ct).ConfigureAwait(false) is not null) throw;
            throw await StateLostAsync(stored, spec, runtime, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The stored spec, refused when the stored copy lost credentials the drive needs (masked when it was recorded).</summary>
    private static RolloutSpec DrivableSpec(StoredRollout stored)
    {
        var spec = stored.ParseSpec();
        StoredSpecCredentials.RequireDrivable(stored, spec);
        return spec;
    }

    /// <summary>
    /// Once per drive, the interval follows the metrics' scrape interval when the spec does not give it (issue #29 item 4).
    /// Hosts read it before they take the Lease: the read waits on the metrics store, not on the drive's clock, so nothing
    /// renews a Lease held during it, and a slow store would let another driver take the rollout (issue #26).
    /// </summary>
    public async Task<ScrapeIntervalResolution> ReadScrapeIntervalAsync(RolloutSpec spec, CancellationToken ct)
    {
        var scrape = await ScrapeIntervalDefault.ApplyAsync(spec, _runtimes.Metrics, ct).ConfigureAwait(false);
        foreach (var note in scrape.Notes) Host.Observer.OnEvent(new VerboseEvent(Now, spec.Namespace, spec.Name, note));
        if (scrape.TooShort is { } tooShort)
            Host.Observer.OnEvent(new WarningEvent(Now, spec.Namespace, spec.Name, $"spec.analysis.interval: {tooShort}; this drive's windows are {Specs.SpecDuration.Format(scrape.Spec.Analysis!.Interval)}"));
        return scrape;
    }

    /// <summary>What a driver whose state was deleted leaves behind, read (never written): where traffic goes, and the objects with the rollout's marks.</summary>
    private async Task<RolloutStateLostException> StateLostAsync(StoredRollout stored, RolloutSpec spec, RolloutRuntime runtime, CancellationToken ct)
    {
        var left = new List<string>();
        try
        {
            var split = await runtime.Router.GetSplitAsync(ct).ConfigureAwait(false);
            if (split.CanaryPercent > 0) left.Add($"traffic: stable {split.StablePercent:0.###}% / canary {split.CanaryPercent:0.###}% on {split.Source}");
        }
        catch (Exception e) when (e is KubesteadException or KubernetesApiException)
        {
            left.Add($"traffic: unknown (reading the route failed: {e.Message})");
        }
        try
        {
            left.AddRange(await new RolloutCleanup(_api, stored.Namespace, stored.Name, RolloutFootprint.For(spec)).FindLeftoversAsync(ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e)
        {
            left.Add($"objects: unknown (listing them failed: {e.Message})");
        }
        var error = new RolloutStateLostException(stored.Namespace, stored.Name, Host.Driver.ToString(), left);
        Host.Observer.OnEvent(new WarningEvent(Now, stored.Namespace, stored.Name, error.Message));
        return error;
    }

    /// <summary>
    /// Takes the rollout's Lease for this host, or throws <see cref="RolloutLockedException"/> naming the live holder. A
    /// Lease whose holder stopped renewing (by its own renewTime) is watched until it has stood unchanged for its duration
    /// on this host's clock, then taken; a renewal in the meantime means its holder lives, and is refused.
    /// </summary>
    /// <param name="specYaml">The spec the rollout runs, copied onto the Lease (<see cref="RolloutLease.SpecAnnotation"/>).</param>
    public async Task<RolloutLease> AcquireLeaseAsync(string ns, string name, CancellationToken ct, string? specYaml = null)
    {
        while (true)
        {
            try
            {
                return await RolloutLease.AcquireAsync(_api, Host.Clock, ns, name, Host.Driver, Host.LeaseDuration, ct, _observations, specYaml).ConfigureAwait(false);
            }
            catch (RolloutLockedException e) when (e.HolderStoppedRenewing)
            {
                var left = e.ExpiresAt - Now;
                Host.Observer.OnEvent(new WaitingEvent(Now, ns, name,
                    $"lease {RolloutLease.ObjectName(name)} of {e.Holder} is not being renewed: taking it over at {e.ExpiresAt:u} unless it is renewed before",
                    TimeSpan.Zero, left));
                await Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero, Host.Clock, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Ends a drive. The caller's token may already be cancelled (Ctrl+C, SIGTERM, StopProcessing, a controller shutting
    /// down), so the last writes get their own short timeout: when cancelled, the status first says where the driver
    /// stopped; then the Lease is given up, so the next driver need not wait for it to expire. Both are best effort: a
    /// failure here must not hide the drive's own outcome, and an unreleased Lease only expires.
    /// </summary>
    public async Task ReleaseLeaseAsync(RolloutLease lease, CancellationToken callerToken)
    {
        using var cts = new CancellationTokenSource(Host.ReleaseTimeout);
        if (callerToken.IsCancellationRequested)
        {
            try
            {
                await RecordCancelledAsync(lease, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubesteadException or KubernetesApiException or OperationCanceledException or HttpRequestException)
            {
                // The status still holds the last step recorded; only the note is missing (or the Lease was lost, and the
                // note is not this driver's to write).
            }
        }
        await lease.ReleaseAsync(cts.Token).ConfigureAwait(false);
        if (callerToken.IsCancellationRequested)
            Host.Observer.OnEvent(new VerboseEvent(Now, lease.Namespace, lease.Rollout, $"lease {RolloutLease.ObjectName(lease.Rollout)} released"));
    }

    /// <summary>
    /// Notes where the cancelled drive stopped, through the Lease guard every drive write goes through: a driver that
    /// stalled past its Lease (SIGSTOP, a frozen VM) and is cancelled when it wakes must not write into a rollout another
    /// driver has taken meanwhile (the guard renews a stale Lease first and finds it taken).
    /// </summary>
    private async Task RecordCancelledAsync(RolloutLease lease, CancellationToken ct)
    {
        var (ns, name) = (lease.Namespace, lease.Rollout);
        var stored = await new RolloutStateStore(new LeaseGuardedApi(_api, lease)).UpdateAsync(ns, name, s =>
        {
            if (s.Phase is not (RolloutPhase.Progressing or RolloutPhase.Promoting)) return null;
            var where = $"driver {Host.Driver} was cancelled at step {s.StepIndex + 1} ({s.Phase}, canary {s.CanaryWeight:0.###}%); " +
                        "every step taken is recorded: resume to continue";
            return (s with { Message = where }).WithHistory(new RolloutHistoryEntry(Now, Host.Driver.ToString(), "cancelled", where, s.CanaryWeight));
        }, Host.Clock, ct).ConfigureAwait(false);
        Host.Observer.OnEvent(new WarningEvent(Now, ns, name, stored.Status.Message));
    }
}
