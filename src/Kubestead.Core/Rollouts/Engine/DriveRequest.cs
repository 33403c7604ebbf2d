namespace Kubestead.Rollouts.Engine;

/// <summary>Which rollout a host asks <see cref="RolloutDriver"/> to drive, and what to do when someone else drives it.</summary>
/// <param name="Namespace">The rollout's namespace (where its state ConfigMap and Lease live).</param>
/// <param name="Name">The rollout's name.</param>
public sealed record DriveRequest(string Namespace, string Name)
{
    /// <summary>
    /// When another live driver holds the Lease: false (the default) throws <see cref="RolloutLockedException"/> at once,
    /// so a controller replica moves on to another rollout; true follows it (reads its state every
    /// <see cref="RolloutHostContext.FollowInterval"/>, reports each step, verdict and phase change, writes nothing) until
    /// the rollout ends or pauses, taking over if that driver's Lease lapses (what <c>kubestead wait</c> does).
    /// </summary>
    public bool WatchWhileLocked { get; init; }

    /// <summary>
    /// A manual or drift pause does not end the drive: the canary keeps its share, so it is judged on until someone
    /// resumes it (the drive then goes on to the end) or it fails (it is aborted). Pauses for too little data or failing
    /// metrics still end it. <c>kubestead wait</c> and the controller set this; start and resume stop at a pause.
    /// </summary>
    public bool ThroughPauses { get; init; }
}
