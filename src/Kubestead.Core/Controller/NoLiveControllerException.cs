namespace Kubestead.Controller;

/// <summary>
/// A detached start with no live controller to drive it. It carries the two namespaces so that each host can say what
/// to change in its own words (the CLI's --controller-namespace and --detach, the cmdlets' -ControllerNamespace and
/// -Detach); <see cref="Exception.Message"/> has the CLI's.
/// </summary>
public sealed class NoLiveControllerException(string controllerNamespace, string rolloutNamespace)
    : KubesteadException("NoLiveController", KubesteadErrorKind.InvalidState,
        $"{Problem(controllerNamespace, rolloutNamespace)}. Deploy one (kubectl apply -k deploy/, or run 'kubestead controller'), name its namespace with " +
        "--controller-namespace, or start without --detach to drive the rollout from here",
        $"leases.coordination.k8s.io in namespace {controllerNamespace}")
{
    public string ControllerNamespace { get; } = controllerNamespace;

    public string RolloutNamespace { get; } = rolloutNamespace;

    /// <summary>What is wrong, without advice: every host adds its own.</summary>
    public static string Problem(string controllerNamespace, string rolloutNamespace) =>
        $"no kubestead controller with a live heartbeat serves namespace '{rolloutNamespace}' (looked for heartbeat Leases in namespace '{controllerNamespace}'): " +
        "nothing would drive a detached rollout";
}
