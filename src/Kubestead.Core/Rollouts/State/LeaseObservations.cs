using System.Collections.Concurrent;

namespace Kubestead.Rollouts.State;

/// <summary>
/// What one process has seen of other drivers' Leases: per Lease, the resourceVersion last seen and when (on this
/// process's clock) it was first seen with it. Every renewal changes the resourceVersion, so a Lease that stood unchanged
/// for its whole duration was not renewed, whatever the holder's clock wrote into renewTime. This is how client-go's
/// leader election judges expiry; it needs no agreement between the machines' clocks. One per host (not static): each
/// process must watch for itself.
/// </summary>
public sealed class LeaseObservations
{
    private readonly ConcurrentDictionary<string, (string? ResourceVersion, DateTimeOffset Since)> _seen = new();

    /// <summary>Whether the Lease was last seen at <paramref name="resourceVersion"/>.</summary>
    public bool HasSeen(string ns, string rollout, string? resourceVersion) =>
        _seen.TryGetValue($"{ns}/{rollout}", out var last) && last.ResourceVersion == resourceVersion;

    /// <summary>Records a sight of the Lease and returns since when it has been seen unchanged.</summary>
    public DateTimeOffset See(string ns, string rollout, string? resourceVersion, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        return _seen.AddOrUpdate($"{ns}/{rollout}", (resourceVersion, now),
            (_, last) => last.ResourceVersion == resourceVersion ? last : (resourceVersion, now)).Since;
    }
}
