using Kubestead.Rollouts.State;

namespace Kubestead.Rollouts.Engine;

/// <summary>
/// The rollout's state ConfigMap was deleted while a driver drove it (issue #26 item 9). Without the record nothing can
/// prove which step ran or that traffic is safe to move, so the driver stops writing and names what it left in the
/// cluster; <c>abort</c> finds those by their marks and the spec copy on the rollout's Lease.
/// </summary>
public sealed class RolloutStateLostException(string ns, string name, string driver, IReadOnlyList<string> left)
    : RolloutException("RolloutStateLost", KubesteadErrorKind.InvalidState,
        $"The state of rollout '{name}' in namespace '{ns}' (ConfigMap {RolloutStateStore.ObjectName(name)}) was deleted while {driver} drove it: " +
        $"it stopped and wrote nothing more. Left in the cluster: {(left.Count == 0 ? "nothing of the rollout's" : string.Join("; ", left))}. " +
        $"Run `kubestead abort {name} -n {ns}` (Stop-KubesteadRollout) to send all traffic to stable and remove them: " +
        $"it finds them by their marks and the copy of the spec on Lease {RolloutLease.ObjectName(name)}.",
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}")
{
    public IReadOnlyList<string> Left { get; } = left;
}
