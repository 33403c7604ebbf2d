namespace Kubestead.Traffic;

/// <summary>
/// The stable Deployment the spec names is not in the cluster. Before a rollout starts that is bad input (the error id
/// and kind stay those of any missing Deployment); once traffic is split, someone deleted it, and the engine pauses
/// with this reason instead of failing (issue #26 item 9). It lives with the routers because without a mesh the
/// replica-ratio router reads stable itself and must report the same thing the canary workload does.
/// </summary>
public sealed class StableDeploymentMissingException(string ns, string deployment, string target)
    : KubesteadException("DeploymentNotFound", KubesteadErrorKind.InvalidInput,
        $"spec.stable.deployment: Deployment '{deployment}' does not exist in namespace {ns}", target)
{
    public string Deployment { get; } = deployment;
}
