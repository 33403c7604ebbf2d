namespace Kubestead;

/// <summary>What kind of failure an error is; the cmdlets map it to an ErrorCategory, the CLI to an exit code.</summary>
public enum KubesteadErrorKind
{
    /// <summary>The user's input (spec, parameter, weight) is wrong; nothing was changed. CLI exit code 2.</summary>
    InvalidInput,
    /// <summary>An object the command needs does not exist.</summary>
    NotFound,
    /// <summary>Someone else holds or changed the object (lease held, concurrent edit).</summary>
    Conflict,
    /// <summary>The credentials may not do this (RBAC) or are rejected.</summary>
    PermissionDenied,
    /// <summary>The cluster or metrics backend could not be reached or timed out.</summary>
    Unavailable,
    /// <summary>The cluster objects are not in a state the command can work with.</summary>
    InvalidState,
}

/// <summary>
/// Base of Kubestead's own errors: a stable <see cref="ErrorId"/> (used as the PowerShell FullyQualifiedErrorId),
/// a <see cref="Kind"/>, and the object at fault, e.g. <c>virtualservices.networking.istio.io/shop in namespace web</c>.
/// </summary>
public class KubesteadException(string errorId, KubesteadErrorKind kind, string message, string? target = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string ErrorId { get; } = errorId;
    public KubesteadErrorKind Kind { get; } = kind;
    public string? Target { get; } = target;
}
