using Kubestead.Rollouts.State;

namespace Kubestead.Rollouts.Engine;

/// <summary>
/// What a host gives the engine to drive rollouts with: its clock, who it reports to, who it says it is, and how it holds
/// and gives up Leases. The CLI and the cmdlets make one per process (one rollout each); <c>kubestead controller</c> makes
/// one per replica and drives many rollouts with it, each under its own Lease. Cancellation is not part of it: every
/// drive takes the host's token for that drive.
/// </summary>
/// <param name="Clock">Every wait, step timer, window and Lease time of the drives reads this clock (a virtual one in tests and the sandbox).</param>
/// <param name="Observer">Receives the drives' events; it must be safe to call from the drive's thread and must not throw.</param>
/// <param name="Driver">Written into the Lease's holderIdentity and the history entries: unique per process (two replicas, two shells).</param>
public sealed record RolloutHostContext(TimeProvider Clock, IRolloutObserver Observer, DriverIdentity Driver)
{
    /// <summary>How long a Lease this host holds stays valid without renewal; another driver may take it after that.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a waiting driver re-reads state (pause/abort from others) and checks for drift.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a host that waits on a rollout another live process drives reads its state and Lease (a watching
    /// <c>wait</c>): each change is reported within about this long, and the end seen (docs/design-notes.md).
    /// </summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the writes that end a drive (recording where a cancelled driver stopped, releasing the Lease) may take.
    /// They run on their own token because the host's is usually the one that was cancelled.
    /// </summary>
    public TimeSpan ReleaseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How this host sends the notifications of rollouts whose spec has sinks (docs/notifications.md).</summary>
    public Kubestead.Notifications.NotificationOptions Notifications { get; init; } = new();

    /// <summary>How this host sends the load tests of rollouts whose spec has one (<c>analysis.loadTest</c>; the sandbox simulates them).</summary>
    public Kubestead.LoadTests.ILoadGenerator LoadGenerator { get; init; } = new Kubestead.LoadTests.HttpLoadGenerator();
}
