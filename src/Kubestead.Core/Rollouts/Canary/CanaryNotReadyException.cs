using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// The canary (or a created baseline) did not become ready within <c>spec.progressDeadline</c>: a failed canary, which
/// the engine aborts. <see cref="Exception.Message"/> names the Deployment, the ready count and the pods' reason.
/// </summary>
public sealed class CanaryNotReadyException(string ns, string deployment, TimeSpan deadline, string readiness, string? podReason)
    : KubesteadException("CanaryNotReady", KubesteadErrorKind.InvalidState,
        $"Deployment {deployment} in namespace {ns} did not become ready within the progress deadline of {Durations.Format(deadline)} ({readiness})" +
        (podReason is null ? "" : $": {podReason}"),
        new ObjectReference(ResourceType.Deployment, ns, deployment).ToString())
{
    public string Deployment { get; } = deployment;
    public string? PodReason { get; } = podReason;
}
