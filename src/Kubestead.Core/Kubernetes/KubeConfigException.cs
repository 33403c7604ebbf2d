namespace Kubestead.Kubernetes;

/// <summary>The kubeconfig could not be used: missing, malformed, or naming a context/cluster/user that does not exist.</summary>
public sealed class KubeConfigException(string message, string? file = null)
    : KubesteadException("KubeConfigInvalid", KubesteadErrorKind.InvalidInput, message, file);
