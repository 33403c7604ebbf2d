using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kubestead.Kubernetes;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>
/// `kubestead status` does not read the machine's CA store when the kubeconfig names the cluster's CA (kubectl does not
/// either; reading it was most of a native status's CPU), and still reads it when the server's certificate can only be
/// checked against it. The child's store is a directory of the test's (SSL_CERT_DIR) watched with inotify: the kernel
/// queues every open of it or of a file in it, so the test knows for certain whether the store was read, however slow
/// the machine.
/// </summary>
public sealed class MachineTrustStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-truststore-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RealServerFact]
    public async Task Status_with_the_clusters_CA_in_the_kubeconfig_never_opens_the_machine_store()
    {
        var (opened, code, _, err) = await StatusWithWatchedStoreAsync(RealApiServer.Kubeconfig);

        Assert.True(code == 0, err);
        Assert.False(opened, "status opened the machine's CA store although the kubeconfig names the cluster's CA");
    }

    [RealServerFact]
    public async Task Status_without_a_CA_in_the_kubeconfig_checks_the_server_against_the_machine_store()
    {
        var kubeconfig = Path.Combine(_dir, "no-ca.kubeconfig");
        File.WriteAllLines(kubeconfig, File.ReadAllLines(RealApiServer.Kubeconfig).Where(l => !l.TrimStart().StartsWith("certificate-authority-data:", StringComparison.Ordinal)));

        var (opened, code, _, err) = await StatusWithWatchedStoreAsync(kubeconfig);

        Assert.True(opened, "status did not read the machine's CA store, the only roots it had for the server");
        Assert.True(code == 0, err); // the watched store holds the kit's CA, so the server is trusted through it
    }

    [Fact]
    public void The_store_is_needed_only_for_a_verified_https_server_without_its_own_CA()
    {
        using var key = RSA.Create(2048);
        using var ca = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var caData = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(ca.ExportCertificatePem()));

        Assert.False(MachineTrustStore.IsNeededFor(Resolve("https://127.0.0.1:6443", $"certificate-authority-data: {caData}")));
        Assert.False(MachineTrustStore.IsNeededFor(Resolve("https://127.0.0.1:6443", "insecure-skip-tls-verify: true")));
        Assert.False(MachineTrustStore.IsNeededFor(Resolve("http://127.0.0.1:8080", null)));
        Assert.True(MachineTrustStore.IsNeededFor(Resolve("https://kubernetes.example.com", null)));
    }

    private ClusterConnection Resolve(string server, string? clusterLine)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: {server}
                {clusterLine ?? ""}
            users:
            - name: u
              user: {"{token: not-a-secret}"}
            contexts:
            - name: x
              context: {"{cluster: c, user: u}"}
            current-context: x
            """);
        return KubeConfigResolver.Resolve(path);
    }

    /// <summary>
    /// Runs `kubestead status` with a machine store of the kit's CA alone (SSL_CERT_DIR; SSL_CERT_FILE names nothing) and
    /// says whether the child opened that directory or anything in it.
    /// </summary>
    private async Task<(bool Opened, int Code, string Out, string Err)> StatusWithWatchedStoreAsync(string kubeconfig)
    {
        var store = Directory.CreateDirectory(Path.Combine(_dir, "certs")).FullName;
        File.Copy(Path.Combine(Path.GetDirectoryName(RealApiServer.Kubeconfig)!, "pki", "ca.crt"), Path.Combine(store, "kit-ca.pem"));
        var watch = inotify_init1(InNonBlock | InCloExec);
        if (watch < 0) throw new InvalidOperationException($"inotify_init1 failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            if (inotify_add_watch(watch, store, InOpen | InAccess) < 0) throw new InvalidOperationException($"inotify_add_watch failed: errno {Marshal.GetLastPInvokeError()}");
            var (code, stdout, stderr) = await ChildProcess.RunAsync(["--kubeconfig", kubeconfig, "status", "-n", "default"], TimeSpan.FromMinutes(3),
                new Dictionary<string, string> { ["SSL_CERT_DIR"] = store, ["SSL_CERT_FILE"] = Path.Combine(_dir, "no-bundle.pem") });
            // Events queued while the child ran; none at all reads as -1 (EAGAIN) on the non-blocking descriptor.
            var events = read(watch, new byte[4096], 4096);
            return (events > 0, code, stdout, stderr);
        }
        finally
        {
            _ = close(watch);
        }
    }

    private const int InNonBlock = 0x800;
    private const int InCloExec = 0x80000;
    private const uint InAccess = 0x1;
    private const uint InOpen = 0x20;

#pragma warning disable SYSLIB1054, CA2101 // plain libc calls for a Linux-only test
    [DllImport("libc", SetLastError = true)]
    private static extern int inotify_init1(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int inotify_add_watch(int fd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mask);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
#pragma warning restore SYSLIB1054, CA2101
}
