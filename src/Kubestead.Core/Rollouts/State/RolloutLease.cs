using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>
/// One driver at a time: a <c>coordination.k8s.io/v1</c> Lease <c>kubestead-&lt;rollout&gt;</c>. Acquired when free,
/// held by us, or expired (takeover); renewed while driving; released when the driver stops. Every write carries
/// the resourceVersion read, so two processes racing for an expired lease cannot both win.
/// <para>
/// Expiry of another holder's Lease is judged as client-go's leader election judges it: from when THIS process saw the
/// Lease's resourceVersion last change, on this process's clock (<see cref="LeaseObservations"/>), never from the
/// holder's renewTime against the local clock, so a driver whose clock runs ahead cannot take a live Lease.
/// </para>
/// </summary>
public sealed class RolloutLease
{
    private const string MicroTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    private readonly IKubernetesApi _api;
    private readonly TimeProvider _clock;
    private JsonObject _lease;
    // Renewals come from the drive loop and from the waits' timers: one at a time, so each carries the latest resourceVersion.
    private readonly SemaphoreSlim _writes = new(1, 1);
    private long _validFromTimestamp;
    private RolloutLeaseLostException? _lost;

    private RolloutLease(IKubernetesApi api, TimeProvider clock, string ns, string rollout, string holder, TimeSpan duration, JsonObject lease)
    {
        _api = api;
        _clock = clock;
        Namespace = ns;
        Rollout = rollout;
        Holder = holder;
        Duration = duration;
        _lease = lease;
        LastRenewed = clock.GetUtcNow();
        _validFromTimestamp = clock.GetTimestamp();
    }

    public string Namespace { get; }
    public string Rollout { get; }
    public string Holder { get; }
    public TimeSpan Duration { get; }
    public DateTimeOffset LastRenewed { get; private set; }

    /// <summary>
    /// True while this process may act as the driver: no renewal found the Lease taken, and the last successful write
    /// of it is younger than its duration on this process's own monotonic clock (past that, another driver may have
    /// taken it while the API server was unreachable).
    /// </summary>
    public bool IsHeld => _lost is null && _clock.GetElapsedTime(Interlocked.Read(ref _validFromTimestamp)) < Duration;

    /// <summary>
    /// Every write of a drive checks this first (<see cref="LeaseGuardedApi"/>), so a write after a lost Lease fails
    /// instead of landing. Known lost: throws at once. Not renewed for a whole duration (the API server did not answer,
    /// or the process stalled): another driver may have taken it, so it is renewed first, with the resourceVersion last
    /// written; only if nobody took it in between does the write go ahead. Otherwise costs nothing.
    /// </summary>
    public async Task EnsureHeldAsync(CancellationToken ct = default)
    {
        if (_lost is { } lost) throw lost;
        if (!IsHeld) await RenewAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Whether this process still holds the Lease, renewing it first when it is stale; false once another driver took it.</summary>
    public async Task<bool> ConfirmHeldAsync(CancellationToken ct = default)
    {
        try
        {
            await EnsureHeldAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (RolloutLeaseLostException)
        {
            return false;
        }
    }

    /// <summary>Renew well before expiry: a third of the duration, as Kubernetes leader election does.</summary>
    public TimeSpan RenewInterval => TimeSpan.FromTicks(Duration.Ticks / 3);

    public static string ObjectName(string rollout) => $"kubestead-{rollout}";

    /// <summary>
    /// The Lease carries a copy of the spec it is held for (credentials masked, as in the state), so that when the state
    /// ConfigMap is deleted mid-rollout, abort can still rebuild the routers and find what the rollout changed (issue #26 item 9).
    /// </summary>
    public const string SpecAnnotation = "kubestead.io/spec";

    /// <summary>The spec copy a Lease carries (see <see cref="SpecAnnotation"/>); null when it has none.</summary>
    public static string? SpecCopy(JsonObject lease) => lease["metadata"]?["annotations"]?[SpecAnnotation]?.GetValue<string>();

    /// <param name="observed">
    /// What this process has seen of Leases before (one per host, kept across attempts): another holder's Lease is taken
    /// only once it has stood unchanged, by this process's clock, for its whole duration. Null: a first sight, so a Lease
    /// another driver holds is never taken by this call.
    /// </param>
    /// <param name="specYaml">The spec the Lease is taken to drive, kept on it (<see cref="SpecAnnotation"/>); null keeps the copy it has.</param>
    public static async Task<RolloutLease> AcquireAsync(
        IKubernetesApi api, TimeProvider clock, string ns, string rollout, DriverIdentity driver, TimeSpan duration, CancellationToken ct = default,
        LeaseObservations? observed = null, string? specYaml = null)
    {
        var holder = driver.ToString();
        var now = clock.GetUtcNow();
        JsonObject? existing;
        try
        {
            existing = await api.GetAsync(ResourceType.Lease, ns, ObjectName(rollout), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            existing = null;
        }

        if (existing is null)
        {
            var created = NewLease(ns, rollout, holder, duration, now, transitions: 0, specYaml);
            try
            {
                return new RolloutLease(api, clock, ns, rollout, holder, duration,
                    await api.CreateAsync(ResourceType.Lease, ns, created, ct).ConfigureAwait(false));
            }
            catch (KubernetesApiException e) when (e.IsAlreadyExists || e.StatusCode == 0 || e.StatusCode >= 500)
            {
                // Someone created it between our read and our create, or our create's answer was lost: read it.
                JsonObject winner;
                try
                {
                    winner = await api.GetAsync(ResourceType.Lease, ns, ObjectName(rollout), ct).ConfigureAwait(false);
                }
                catch (KubernetesApiException missing) when (missing.IsNotFound)
                {
                    throw e; // the create failed before it applied: that failure, not the empty read, is the news
                }
                if (winner["spec"]?["holderIdentity"]?.GetValue<string>() == holder)
                    return new RolloutLease(api, clock, ns, rollout, holder, duration, winner);
                throw e.IsAlreadyExists ? Locked(ns, rollout, winner, now + duration, now) : e;
            }
        }

        var spec = existing["spec"] as JsonObject ?? new JsonObject();
        var currentHolder = spec["holderIdentity"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(currentHolder) && currentHolder != holder)
        {
            var seenUnchangedSince = (observed ?? new LeaseObservations()).See(ns, rollout, existing["metadata"]?["resourceVersion"]?.GetValue<string>(), clock);
            var heldFor = TimeSpan.FromSeconds(spec["leaseDurationSeconds"]?.GetValue<int>() ?? 0);
            if (clock.GetUtcNow() - seenUnchangedSince < heldFor)
                throw Locked(ns, rollout, existing, seenUnchangedSince + heldFor, clock.GetUtcNow());
        }

        var transitions = (spec["leaseTransitions"]?.GetValue<int>() ?? 0) + (currentHolder == holder ? 0 : 1);
        var replacement = NewLease(ns, rollout, holder, duration, now, transitions, specYaml ?? SpecCopy(existing));
        replacement["metadata"]!["resourceVersion"] = existing["metadata"]?["resourceVersion"]?.GetValue<string>();
        try
        {
            return new RolloutLease(api, clock, ns, rollout, holder, duration,
                await api.ReplaceAsync(ResourceType.Lease, ns, ObjectName(rollout), replacement, ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e) when (e.IsConflict)
        {
            var winner = await api.GetAsync(ResourceType.Lease, ns, ObjectName(rollout), ct).ConfigureAwait(false);
            throw Locked(ns, rollout, winner, clock.GetUtcNow() + duration, clock.GetUtcNow());
        }
    }

    /// <summary>Renews when a renew interval has passed since the last renewal; cheap to call often.</summary>
    public async Task RenewIfDueAsync(CancellationToken ct = default)
    {
        if (_clock.GetUtcNow() - LastRenewed < RenewInterval) return;
        await _writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Another caller may have renewed while this one waited its turn.
            if (_clock.GetUtcNow() - LastRenewed >= RenewInterval) await RenewCoreAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }

    public async Task RenewAsync(CancellationToken ct = default)
    {
        await _writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await RenewCoreAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task RenewCoreAsync(CancellationToken ct)
    {
        if (_lost is { } lost) throw lost;
        var sentAt = _clock.GetTimestamp();
        var now = _clock.GetUtcNow();
        var patch = new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", _lease["metadata"]?["resourceVersion"]?.DeepClone()),
            JsonPatchOperation.Test("/spec/holderIdentity", Holder),
            JsonPatchOperation.Replace("/spec/renewTime", FormatMicroTime(now)),
        ]);
        try
        {
            _lease = await _api.PatchAsync(ResourceType.Lease, Namespace, ObjectName(Rollout), patch, ct).ConfigureAwait(false);
            LastRenewed = now;
            // Valid from when the request was sent: the server may have applied it any time after.
            Interlocked.Exchange(ref _validFromTimestamp, sentAt);
        }
        catch (KubernetesApiException e) when (e.IsConflict || e.IsInvalid || e.IsNotFound)
        {
            string? newHolder = null;
            try
            {
                var current = await _api.GetAsync(ResourceType.Lease, Namespace, ObjectName(Rollout), ct).ConfigureAwait(false);
                newHolder = current["spec"]?["holderIdentity"]?.GetValue<string>();
                if (newHolder == Holder)
                {
                    // Only the resourceVersion moved (e.g. a label edit): adopt it and renew once more.
                    _lease = current;
                    await RenewCoreAsync(ct).ConfigureAwait(false);
                    return;
                }
            }
            catch (KubernetesApiException inner) when (inner.IsNotFound)
            {
            }
            throw _lost = new RolloutLeaseLostException(Namespace, Rollout, newHolder);
        }
    }

    /// <summary>Gives the lease up so the next driver need not wait for expiry. Best effort: a lost lease is fine.</summary>
    public async Task ReleaseAsync(CancellationToken ct = default)
    {
        var patch = new JsonPatch([
            JsonPatchOperation.Test("/spec/holderIdentity", Holder),
            JsonPatchOperation.Replace("/spec/holderIdentity", ""),
            JsonPatchOperation.Replace("/spec/renewTime", FormatMicroTime(_clock.GetUtcNow())),
        ]);
        var entered = false;
        try
        {
            // After a renewal still under way, so that renewal cannot re-take what this gives up.
            await _writes.WaitAsync(ct).ConfigureAwait(false);
            entered = true;
            _lease = await _api.PatchAsync(ResourceType.Lease, Namespace, ObjectName(Rollout), patch, ct).ConfigureAwait(false);
            _lost = new RolloutLeaseLostException(Namespace, Rollout, null, "this process released it");
        }
        catch (Exception e) when (e is KubernetesApiException or OperationCanceledException or HttpRequestException)
        {
            // Lost, unreachable or out of time: the lease then simply expires. Never hide the drive's own outcome.
        }
        finally
        {
            if (entered) _writes.Release();
        }
    }

    /// <summary>Deletes the lease object at the end of a rollout.</summary>
    public async Task DeleteAsync(CancellationToken ct = default)
    {
        try
        {
            await _api.DeleteAsync(ResourceType.Lease, Namespace, ObjectName(Rollout), null, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }

    /// <param name="expiresAt">When this process will take the Lease if it stays unchanged (by this process's clock).</param>
    private static RolloutLockedException Locked(string ns, string rollout, JsonObject lease, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        var spec = lease["spec"] as JsonObject ?? new JsonObject();
        // The holder's own renewTime says it stopped renewing: worth watching for a lease duration rather than giving up.
        return new RolloutLockedException(ns, rollout, spec["holderIdentity"]?.GetValue<string>() ?? "(unknown)", expiresAt)
        {
            HolderStoppedRenewing = ExpiresAt(spec) <= now,
        };
    }

    internal static DateTimeOffset ExpiresAt(JsonObject spec)
    {
        var renew = spec["renewTime"]?.GetValue<string>() ?? spec["acquireTime"]?.GetValue<string>();
        var seconds = spec["leaseDurationSeconds"]?.GetValue<int>() ?? 0;
        if (renew is null || !DateTimeOffset.TryParse(renew, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            return DateTimeOffset.MinValue;
        return at + TimeSpan.FromSeconds(seconds);
    }

    private static JsonObject NewLease(string ns, string rollout, string holder, TimeSpan duration, DateTimeOffset now, int transitions, string? specYaml)
    {
        var lease = NewLease(ns, rollout, holder, duration, now, transitions);
        if (specYaml is not null)
            lease["metadata"]!["annotations"] = new JsonObject { [SpecAnnotation] = StoredSpecCredentials.Redact(specYaml) };
        return lease;
    }

    private static JsonObject NewLease(string ns, string rollout, string holder, TimeSpan duration, DateTimeOffset now, int transitions) => new()
    {
        ["apiVersion"] = "coordination.k8s.io/v1",
        ["kind"] = "Lease",
        ["metadata"] = new JsonObject
        {
            ["name"] = ObjectName(rollout),
            ["namespace"] = ns,
            ["labels"] = new JsonObject
            {
                [RolloutStateStore.ManagedByLabel] = "kubestead",
                [RolloutStateStore.RolloutLabel] = rollout,
            },
        },
        ["spec"] = new JsonObject
        {
            ["holderIdentity"] = holder,
            ["leaseDurationSeconds"] = (int)Math.Ceiling(duration.TotalSeconds),
            ["acquireTime"] = FormatMicroTime(now),
            ["renewTime"] = FormatMicroTime(now),
            ["leaseTransitions"] = transitions,
        },
    };

    internal static string FormatMicroTime(DateTimeOffset t) => t.UtcDateTime.ToString(MicroTimeFormat, CultureInfo.InvariantCulture);
}
