namespace Kubestead.Kubernetes;

/// <summary>A <see cref="KubernetesApiException"/> whose message says what was being done; status and reason are the server's.</summary>
public sealed class DescribedApiException(KubernetesApiException original, string message, ObjectReference? target)
    : KubernetesApiException(original.StatusCode, original.Reason, message, target, original.Causes, original.RetryAfter, original)
{
}
