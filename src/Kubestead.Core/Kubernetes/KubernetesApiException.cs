using System.Net;

namespace Kubestead.Kubernetes;

/// <summary>Why the API refused a request: the <c>reason</c> of a Kubernetes <c>Status</c>.</summary>
public enum StatusReason
{
    Unknown,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyExists,
    Conflict,
    Gone,
    Invalid,
    ServerTimeout,
    Timeout,
    TooManyRequests,
    MethodNotAllowed,
    UnsupportedMediaType,
    InternalError,
    ServiceUnavailable,
    Expired,
    RequestEntityTooLarge,
    NotAcceptable,
}

/// <summary>One cause inside an Invalid status: which field, and what is wrong with it.</summary>
public sealed record StatusCause(string? Field, string? Reason, string Message);

/// <summary>
/// A request the API server answered with a failure <c>Status</c> (or a transport failure after retries).
/// The message never contains credentials: it is built from the server's Status and the object reference only.
/// </summary>
public class KubernetesApiException : Exception
{
    public KubernetesApiException(
        int statusCode,
        StatusReason reason,
        string message,
        ObjectReference? target = null,
        IReadOnlyList<StatusCause>? causes = null,
        TimeSpan? retryAfter = null,
        Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
        Reason = reason;
        Target = target;
        Causes = causes ?? Array.Empty<StatusCause>();
        RetryAfter = retryAfter;
    }

    /// <summary>HTTP status code; 0 when no HTTP answer was received.</summary>
    public int StatusCode { get; }
    public StatusReason Reason { get; }
    public ObjectReference? Target { get; }
    public IReadOnlyList<StatusCause> Causes { get; }
    public TimeSpan? RetryAfter { get; }

    public bool IsNotFound => Reason == StatusReason.NotFound || StatusCode == (int)HttpStatusCode.NotFound;
    public bool IsConflict => Reason == StatusReason.Conflict || StatusCode == (int)HttpStatusCode.Conflict;
    public bool IsAlreadyExists => Reason == StatusReason.AlreadyExists;
    public bool IsInvalid => Reason == StatusReason.Invalid || StatusCode == 422;
    /// <summary>The server could not be reached or did not serve the request (no answer, 429, 5xx): not a refusal of it.</summary>
    public bool IsUnavailable => StatusCode is 0 or 429 or >= 500;
    public bool IsGone => Reason == StatusReason.Gone || Reason == StatusReason.Expired || StatusCode == 410;
}
