using System.Management.Automation;
using Kubestead.Kubernetes;

namespace Kubestead.PowerShell;

/// <summary>
/// The one place the cmdlet layer reads an error's kind: Core's <see cref="KubesteadErrorKind"/>, or for a Kubernetes
/// status the kind its reason means. The ErrorRecord's category (here) and its recommended action
/// (<see cref="ErrorAdvice"/>) both follow from that kind, so the two can no longer disagree about one error.
/// </summary>
internal static class ErrorCategories
{
    public static KubesteadErrorKind KindOf(KubernetesApiException e) => e.Reason switch
    {
        StatusReason.NotFound => KubesteadErrorKind.NotFound,
        StatusReason.Conflict or StatusReason.AlreadyExists => KubesteadErrorKind.Conflict,
        StatusReason.Forbidden or StatusReason.Unauthorized => KubesteadErrorKind.PermissionDenied,
        StatusReason.Invalid or StatusReason.BadRequest => KubesteadErrorKind.InvalidInput,
        // Timeouts, throttling, a server that is down or says something unexpected: try again later.
        _ => KubesteadErrorKind.Unavailable,
    };

    public static ErrorCategory For(KubesteadErrorKind kind) => kind switch
    {
        KubesteadErrorKind.InvalidInput => ErrorCategory.InvalidArgument,
        KubesteadErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        KubesteadErrorKind.Conflict => ErrorCategory.ResourceBusy,
        KubesteadErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        KubesteadErrorKind.Unavailable => ErrorCategory.ConnectionError,
        _ => ErrorCategory.InvalidOperation,
    };
}
