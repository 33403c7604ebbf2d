using Kubestead.Rollouts;

namespace Kubestead.Controller;

/// <summary>
/// What one attempt to drive a rollout came to: driven until it stopped by itself (<see cref="Result"/>), or not driven
/// because another driver holds its Lease (<see cref="LockedBy"/> until <see cref="LockedUntil"/>), or gone.
/// </summary>
public sealed record DriveAttempt(RolloutResult? Result, string? LockedBy = null, DateTimeOffset? LockedUntil = null)
{
    public static readonly DriveAttempt Gone = new(Result: null);

    public bool IsLocked => LockedBy is not null;
}
