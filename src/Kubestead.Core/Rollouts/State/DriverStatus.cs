using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Who drives a rollout right now, from its Lease. A rollout moves only while a start, wait or resume process holds the
/// Lease; when none does, nothing analyses or advances it, and <see cref="NotDrivenSince"/> says since when.
/// <para>
/// Liveness here is read from the holder's renewTime, unlike acquisition and clean-up, which never act on it
/// (<see cref="LeaseObservations"/>, <see cref="RolloutLeaseCleanup"/>): status is one read for a person and cannot
/// watch the resourceVersion stand still for a Lease duration; a holder's skewed clock can only mislabel it here, and
/// nothing takes, deletes or writes on the strength of this answer (docs/design-notes.md).
/// </para>
/// </summary>
public sealed record DriverStatus(string? Holder, DateTimeOffset? LastHeartbeat, DateTimeOffset? LeaseExpiresAt, DateTimeOffset? NotDrivenSince, DateTimeOffset ReadAt)
{
    public bool IsDriven => Holder is not null;

    /// <summary>One line for people: who drives it, or that nobody does and since when.</summary>
    public string Describe() => Holder is { } h
        ? $"driven by {h}, last heartbeat {Ago(ReadAt, LastHeartbeat)}"
        : NotDrivenSince is { } since
            ? $"not driven since {since.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)} ({Ago(ReadAt, since)}): it moves only while 'kubestead wait' (or start/resume) runs"
            : "not driven";

    private static string Ago(DateTimeOffset now, DateTimeOffset? t) => t is not { } at ? "never"
        : now - at < TimeSpan.FromSeconds(1) ? "just now"
        : $"{Durations.Format(TimeSpan.FromSeconds(Math.Floor((now - at).TotalSeconds)))} ago";

    /// <summary>Reads the rollout's Lease; a terminal rollout needs no driver, so it reports none and no "since".</summary>
    public static async Task<DriverStatus> ReadAsync(IKubernetesApi api, TimeProvider clock, StoredRollout stored, CancellationToken ct)
    {
        JsonObject? lease = null;
        try
        {
            lease = await api.GetAsync(ResourceType.Lease, stored.Namespace, RolloutLease.ObjectName(stored.Name), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
        var spec = lease?["spec"] as JsonObject;
        var holder = spec?["holderIdentity"]?.GetValue<string>();
        var renewed = ParseTime(spec?["renewTime"]?.GetValue<string>() ?? spec?["acquireTime"]?.GetValue<string>());
        DateTimeOffset? expires = spec is null ? null : RolloutLease.ExpiresAt(spec);
        var now = clock.GetUtcNow();
        var live = !string.IsNullOrEmpty(holder) && expires > now;
        if (live) return new DriverStatus(holder, renewed, expires, null, now);
        if (stored.Status.Phase.IsTerminal()) return new DriverStatus(null, renewed, expires, null, now);
        // The last sign of a driver: its last heartbeat (or release), or the last state write, whichever is later.
        var since = new[] { renewed, stored.Status.UpdatedAt == default ? null : stored.Status.UpdatedAt }.Max();
        return new DriverStatus(null, renewed, expires, since, now);
    }

    private static DateTimeOffset? ParseTime(string? s) =>
        s is not null && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}
