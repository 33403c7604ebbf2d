using Kubestead.Rollouts.State;

namespace Kubestead.Controller;

/// <summary>What the watch last saw of a rollout handed to controllers: enough to decide whether it needs a driver.</summary>
public sealed record WatchedRollout(RolloutKey Key, RolloutPhase Phase, bool CleanupDone, string ResourceVersion)
{
    /// <summary>A paused rollout waits for a person; a finished and cleaned-up one needs nobody.</summary>
    public bool NeedsDriver => Phase != RolloutPhase.Paused && !(Phase.IsTerminal() && CleanupDone);

    public static WatchedRollout From(StoredRollout stored) =>
        new(new RolloutKey(stored.Namespace, stored.Name), stored.Status.Phase, stored.Status.CleanupDone, stored.ResourceVersion);
}
