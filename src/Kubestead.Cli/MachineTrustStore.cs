using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Kubestead.Kubernetes;

namespace Kubestead.Cli;

/// <summary>
/// The machine's CA store (/etc/ssl/certs). On Linux .NET reads and parses all of it through OpenSSL (150-300 files here)
/// at the first TLS handshake of a process, whatever the chain policy says: a custom root trust still loads it for
/// intermediates. That was about 60% of the CPU of a native `kubestead status` (docs/native.md). kubectl never reads it
/// when the kubeconfig names the cluster's CA, and a command whose only TLS peer is that API server does not need it either.
/// </summary>
internal static class MachineTrustStore
{
    private static readonly string[] Variables = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

    /// <summary>Where the store is pointed instead: a path that cannot exist, so .NET finds no file and no directory there.</summary>
    internal const string Nowhere = "/nonexistent/kubestead-skips-the-machine-ca-store";

    /// <summary>True when a TLS handshake with this server can need the machine's roots: https, verification on, and no CA in the kubeconfig.</summary>
    public static bool IsNeededFor(ClusterConnection connection)
    {
        var c = connection.Configuration;
        return connection.Server.Scheme == Uri.UriSchemeHttps && !c.SkipTlsVerify && c.SslCaCerts is not { Count: > 0 };
    }

    /// <summary>
    /// Makes this process see an empty machine store. .NET takes the store's location from the native environment
    /// (SSL_CERT_FILE, SSL_CERT_DIR) once, when the store is first opened: point both at nothing, open and read the store so
    /// that empty location is the one kept, then put the variables back, so child processes (exec credential plugins, which
    /// may call their cloud over TLS) inherit the user's. Only for a process whose every TLS peer has its own CA.
    /// </summary>
    public static void IgnoreForThisProcess()
    {
        if (!OperatingSystem.IsLinux()) return; // elsewhere the OS keeps the store and .NET asks it per certificate
        var saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var v in Variables) _ = NativeMethods.setenv(v, Nowhere, 1);
            using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
            store.Open(OpenFlags.ReadOnly);
            _ = store.Certificates.Count;
        }
        finally
        {
            foreach (var (v, value) in saved)
                _ = value is null ? NativeMethods.unsetenv(v) : NativeMethods.setenv(v, value, 1);
        }
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // DllImport keeps this free of source generators on net8.0 (as TerminationSignals)
        [DllImport("libc", SetLastError = true)]
        internal static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

        [DllImport("libc", SetLastError = true)]
        internal static extern int unsetenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
#pragma warning restore SYSLIB1054
    }
}
