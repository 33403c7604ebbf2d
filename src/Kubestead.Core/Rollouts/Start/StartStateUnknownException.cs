using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// A start (with its drive) failed and its state could not be read back because the API server did not answer: this
/// process cannot tell whether traffic already moved, so it neither undid the start nor marked the rollout Failed. The
/// message says what is known and what to run once the server answers. The original error is the inner exception.
/// </summary>
public sealed class StartStateUnknownException(Exception original, Exception readError, string ns, string name)
    : RolloutException("ClusterUnavailable", KubesteadErrorKind.Unavailable,
        $"{original.Message}{Environment.NewLine}the state of rollout {name} could not be read back ({readError.Message}), so it is not known whether " +
        "traffic already moved to the canary: nothing was undone and nothing was marked Failed; the rollout stays as last recorded in the cluster. " +
        $"When the server answers, `kubestead status {name} -n {ns}` (Get-KubesteadRollout) shows where it stands; `kubestead wait {name} -n {ns}` " +
        $"drives it on, `kubestead abort {name} -n {ns}` returns all traffic to stable.",
        $"configmaps/{State.RolloutStateStore.ObjectName(name)} in namespace {ns}", original);
