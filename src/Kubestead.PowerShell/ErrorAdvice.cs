using System.Management.Automation;
using Kubestead.Controller;
using Kubestead.Kubernetes;

namespace Kubestead.PowerShell;

/// <summary>
/// What a PowerShell user can do about an error from Core, as the ErrorRecord's RecommendedAction, in cmdlet
/// parameters; and, where Core's message names CLI flags, the same message in the cmdlet's words.
/// </summary>
internal static class ErrorAdvice
{
    public static ErrorDetails? For(Exception e) => e switch
    {
        NoLiveControllerException n => new ErrorDetails(
            $"{NoLiveControllerException.Problem(n.ControllerNamespace, n.RolloutNamespace)}. Deploy one (kubectl apply -k deploy/, or run 'kubestead controller'), " +
            "name its namespace with -ControllerNamespace, or start without -Detach to drive the rollout from here")
        {
            RecommendedAction = "Start a kubestead controller that serves this namespace, pass -ControllerNamespace where it runs, or run Start-KubesteadRollout without -Detach.",
        },
        KubesteadException k => Action(RecommendedAction(k.Kind)),
        KubernetesApiException a => Action(RecommendedAction(ErrorCategories.KindOf(a))),
        _ => null,
    };

    private static ErrorDetails Action(string action) => new(string.Empty) { RecommendedAction = action };

    private static string RecommendedAction(KubesteadErrorKind kind) => kind switch
    {
        KubesteadErrorKind.InvalidInput => "Correct the named field or parameter and run the command again; nothing was changed.",
        KubesteadErrorKind.NotFound => "Check the name and -Namespace (Get-KubesteadRollout -AllNamespaces lists the rollouts), or -Context/-KubeConfig for the cluster.",
        KubesteadErrorKind.Conflict => "Another process holds or changed the object: Get-KubesteadRollout shows who drives it; run the command again once it is free.",
        KubesteadErrorKind.PermissionDenied => "Check the credentials of -Context/-KubeConfig and their RBAC role (Test-KubesteadRollout -Cluster lists the permissions a spec needs).",
        KubesteadErrorKind.Unavailable => "Check that the cluster of -Context/-KubeConfig is reachable; -TimeoutSec bounds each request.",
        _ => "Get-KubesteadRollout shows the rollout's phase and message; act on what it says.",
    };
}
