namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// namerd refused or failed a request. <see cref="IsVersionConflict"/>: a compare-and-set found a newer dtab
/// (412 Precondition Failed), so the write did not happen and the dtab must be read again.
/// </summary>
public sealed class NamerdException(string errorId, KubesteadErrorKind kind, string message, int? status = null, Exception? inner = null)
    : KubesteadException(errorId, kind, message, null, inner)
{
    public int? Status { get; } = status;

    public bool IsVersionConflict => Status == 412;

    public bool IsNotFound => Status == 404;
}
