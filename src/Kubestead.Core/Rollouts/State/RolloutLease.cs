using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>
/// One driver at a time: a <c>coordination.k8s.io/v1</c> Lease <c>kubestead-&lt;rollout&gt;</c>. Acquired when free,
/// held by us, or expired (takeover); renewed while driving; released when the driver stops. Every write carries
/// the resourceVersion read, so two processes racing for an expired lease cannot both win.
/// </summary>
public sealed class RolloutLease
{
    private const string MicroTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    private readonly IKubernetesApi _api;
    private readonly TimeProvider _clock;
    private JsonObject _lease;

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
    }

    public string Namespace { get; }
    public string Rollout { get; }
    public string Holder { get; }
    public TimeSpan Duration { get; }
    public DateTimeOffset LastRenewed { get; private set; }

    /// <summary>Renew well before expiry: a third of the duration, as Kubernetes leader election does.</summary>
    public TimeSpan RenewInterval => TimeSpan.FromTicks(Duration.Ticks / 3);

    public static string ObjectName(string rollout) => $"kubestead-{rollout}";

    public static async Task<RolloutLease> AcquireAsync(
        IKubernetesApi api, TimeProvider clock, string ns, string rollout, DriverIdentity driver, TimeSpan duration, CancellationToken ct = default)
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
            var created = NewLease(ns, rollout, holder, duration, now, transitions: 0);
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
                throw e.IsAlreadyExists ? Locked(ns, rollout, winner) : e;
            }
        }

        var spec = existing["spec"] as JsonObject ?? new JsonObject();
        var currentHolder = spec["holderIdentity"]?.GetValue<string>();
        var expires = ExpiresAt(spec);
        if (!string.IsNullOrEmpty(currentHolder) && currentHolder != holder && expires > now)
            throw Locked(ns, rollout, existing);

        var transitions = (spec["leaseTransitions"]?.GetValue<int>() ?? 0) + (currentHolder == holder ? 0 : 1);
        var replacement = NewLease(ns, rollout, holder, duration, now, transitions);
        replacement["metadata"]!["resourceVersion"] = existing["metadata"]?["resourceVersion"]?.GetValue<string>();
        try
        {
            return new RolloutLease(api, clock, ns, rollout, holder, duration,
                await api.ReplaceAsync(ResourceType.Lease, ns, ObjectName(rollout), replacement, ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e) when (e.IsConflict)
        {
            var winner = await api.GetAsync(ResourceType.Lease, ns, ObjectName(rollout), ct).ConfigureAwait(false);
            throw Locked(ns, rollout, winner);
        }
    }

    /// <summary>Renews when a renew interval has passed since the last renewal; cheap to call often.</summary>
    public Task RenewIfDueAsync(CancellationToken ct = default) =>
        _clock.GetUtcNow() - LastRenewed >= RenewInterval ? RenewAsync(ct) : Task.CompletedTask;

    public async Task RenewAsync(CancellationToken ct = default)
    {
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
                    await RenewAsync(ct).ConfigureAwait(false);
                    return;
                }
            }
            catch (KubernetesApiException inner) when (inner.IsNotFound)
            {
            }
            throw new RolloutLeaseLostException(Namespace, Rollout, newHolder);
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
        try
        {
            _lease = await _api.PatchAsync(ResourceType.Lease, Namespace, ObjectName(Rollout), patch, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubernetesApiException or OperationCanceledException or HttpRequestException)
        {
            // Lost, unreachable or out of time: the lease then simply expires. Never hide the drive's own outcome.
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

    private static RolloutLockedException Locked(string ns, string rollout, JsonObject lease)
    {
        var spec = lease["spec"] as JsonObject ?? new JsonObject();
        return new RolloutLockedException(ns, rollout, spec["holderIdentity"]?.GetValue<string>() ?? "(unknown)", ExpiresAt(spec));
    }

    internal static DateTimeOffset ExpiresAt(JsonObject spec)
    {
        var renew = spec["renewTime"]?.GetValue<string>() ?? spec["acquireTime"]?.GetValue<string>();
        var seconds = spec["leaseDurationSeconds"]?.GetValue<int>() ?? 0;
        if (renew is null || !DateTimeOffset.TryParse(renew, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            return DateTimeOffset.MinValue;
        return at + TimeSpan.FromSeconds(seconds);
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
