using Kubestead.Rollouts.State;

namespace Kubestead.Rollouts.Engine;

/// <summary>An abort (or the clean-up after a failure) stopped before everything was removed; it lists what is left. Running abort again continues.</summary>
public sealed class RolloutCleanupIncompleteException(string ns, string name, IReadOnlyList<string> leftovers, Exception? cause)
    : RolloutException("RolloutCleanupIncomplete", (cause as KubesteadException)?.Kind ?? KubesteadErrorKind.Unavailable,
        $"the clean-up of rollout '{name}' in namespace '{ns}' did not finish{(cause is null ? "" : $" ({cause.Message})")}; " +
        (leftovers.Count == 0 ? "nothing of it is left in the cluster, but its record is not marked clean: run abort again"
            : $"left behind: {string.Join("; ", leftovers)}; run abort again to continue"),
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}", cause)
{
    public IReadOnlyList<string> Leftovers { get; } = leftovers;
}
