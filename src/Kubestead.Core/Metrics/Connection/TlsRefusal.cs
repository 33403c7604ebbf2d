namespace Kubestead.Metrics.Connection;

/// <summary>
/// Why the last certificate check of one TLS client refused the server, so the request's failure can name the tls
/// field at fault instead of .NET's generic "the SSL connection could not be established".
/// </summary>
internal sealed class TlsRefusal
{
    private string? _reason;

    public string? Reason => Volatile.Read(ref _reason);

    public void Set(string? reason) => Volatile.Write(ref _reason, reason);
}
