namespace Kubestead.Controller;

/// <summary>How a controller replica runs.</summary>
public sealed record ControllerOptions
{
    /// <summary>This replica's name: its heartbeat's and its Leases' holder (a pod name in a cluster).</summary>
    public required string Replica { get; init; }

    /// <summary>The namespaces whose rollouts it drives; null: every namespace.</summary>
    public IReadOnlyList<string>? Namespaces { get; init; }

    /// <summary>Where the replicas' heartbeat Leases live (the controller's own namespace).</summary>
    public required string HomeNamespace { get; init; }

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>At most this many rollouts driven at once by this replica, whatever its fair share.</summary>
    public int MaxConcurrentRollouts { get; init; } = 100;

    /// <summary>The heartbeat's duration; a replica silent this long no longer counts for the fair share.</summary>
    public TimeSpan HeartbeatDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the whole set of rollouts is listed again and every one that needs a driver looked at.</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>When over its share, a replica looks at a free rollout again after this long (someone else should have it by then).</summary>
    public TimeSpan ShareRecheck { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The longest backoff after a failed drive.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);
}
