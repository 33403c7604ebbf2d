namespace Kubestead.Metrics.Connection;

/// <summary>
/// How the metrics server's certificate is checked and which client certificate is shown. <see cref="ServerName"/> is
/// the name the server certificate must carry when the address uses another (an IP, a tunnel).
/// </summary>
public sealed record TlsSpec(string Field, string? CaFile, string? CertFile, string? KeyFile, string? ServerName, bool InsecureSkipVerify);
