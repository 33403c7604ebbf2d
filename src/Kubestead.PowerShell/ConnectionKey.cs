using System.Security.Cryptography;
using Kubestead.Kubernetes;

namespace Kubestead.PowerShell;

/// <summary>
/// Everything a cluster connection was made from: the -KubeConfig path or $env:KUBECONFIG (or the home directory whose
/// ~/.kube/config is read), -Context, -Namespace, -TimeoutSec, and the path, size, modification time and SHA-256 of
/// every kubeconfig file kubectl would read. A session reuses a connection only while its key is equal, so an edited or
/// replaced kubeconfig, another context or another $env:KUBECONFIG gets a new connection at the next cmdlet.
/// Certificate and key files the kubeconfig names by path are known only once it is parsed, so
/// <see cref="SessionConnections"/> stamps them (<see cref="Stamp(IEnumerable{string})"/>) when it connects and again
/// before each reuse.
/// </summary>
internal sealed record ConnectionKey(string? ExplicitPath, string? KubeConfigVariable, string? Home, string? Context, string? Namespace,
    TimeSpan? RequestTimeout, string Files)
{
    public static ConnectionKey For(string? explicitPath, string? context, string? ns, TimeSpan? requestTimeout)
    {
        Func<string, string?> environment = Environment.GetEnvironmentVariable;
        return new ConnectionKey(explicitPath, explicitPath is null ? environment("KUBECONFIG") : null,
            environment("HOME") ?? environment("USERPROFILE"), context, ns, requestTimeout, Stamp(KubeConfigResolver.Files(explicitPath, environment)));
    }

    /// <summary>The same kubeconfig source, context, namespace and timeout, whatever the files hold now.</summary>
    public bool SameSourceAs(ConnectionKey other) => this with { Files = other.Files } == other;

    /// <summary>Path, size, modification time and content hash of each file, one line each.</summary>
    public static string Stamp(IEnumerable<string> files) => string.Join("\n", files.Select(StampOne));

    /// <summary>The content hash catches a rewrite that keeps the size within one timestamp tick.</summary>
    private static string StampOne(string file)
    {
        var info = new FileInfo(file);
        try
        {
            var hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
            return $"{info.FullName} {info.Length} {info.LastWriteTimeUtc.Ticks} {hash}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unique, so nothing is reused: connecting reads the file again and reports why it cannot, as without a session.
            return $"{info.FullName} unreadable {Guid.NewGuid()}";
        }
    }
}
