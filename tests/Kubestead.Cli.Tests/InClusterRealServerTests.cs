using System.Diagnostics;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Runs only where the real API server of the test command is reachable (KUBESTEAD_TEST_KUBECONFIG, or ../shared present,
/// where its absence is a failure) and a private mount namespace can be made (`unshare -m -r`), which puts the service
/// account files at the real in-cluster path without touching the machine's /run.
/// </summary>
public sealed class InClusterFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> CanUnshare = new(() =>
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("unshare", ["-m", "-r", "true"]) { RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit(10_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public InClusterFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "the in-cluster path test needs Linux mount namespaces";
        else if (Kubestead.Tests.Shared.RealApiServer.SkipReason is { } reason) Skip = reason;
        else if (!CanUnshare.Value) Skip = "`unshare -m -r` is not permitted on this machine, so the service account cannot be mounted at its real path";
    }
}

/// <summary>
/// In a pod, with no kubeconfig: KubernetesClient's own in-cluster loader reads /var/run/secrets/kubernetes.io/serviceaccount
/// and KUBERNETES_SERVICE_HOST/PORT, and the CLI reaches the real kube-apiserver with that token and CA.
/// </summary>
public sealed class InClusterRealServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-incluster-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string KitDir => Path.GetDirectoryName(Kubestead.Tests.Shared.RealApiServer.Kubeconfig)!;

    private async Task<(int Code, string Out, string Err)> RunInPodAsync(string token, string ns, params string[] args)
    {
        var sa = Directory.CreateDirectory(Path.Combine(_dir, "sa-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        File.WriteAllText(Path.Combine(sa, "token"), token);
        File.WriteAllText(Path.Combine(sa, "namespace"), ns);
        File.Copy(Path.Combine(KitDir, "pki", "ca.crt"), Path.Combine(sa, "ca.crt"));
        var home = Directory.CreateDirectory(Path.Combine(_dir, "home")).FullName;
        var port = File.ReadAllLines(Path.Combine(KitDir, "env")).Select(l => l.Replace("export ", "").Split('=', 2))
            .First(kv => kv[0] == "KUBE_APISERVER_PORT")[1].Trim('"', '\'');
        using var p = ChildProcess.StartInPod(args, sa, port, home);
        if (!await p.WaitForExitAsync(TimeSpan.FromMinutes(2))) throw new TimeoutException($"kubestead {string.Join(' ', args)} did not end:\n{p.Out}\n{p.Err}");
        return (p.ExitCode, p.Out, p.Err);
    }

    [InClusterFact]
    public async Task With_no_kubeconfig_the_pods_service_account_reaches_the_real_server_in_its_namespace()
    {
        var token = File.ReadAllText(Path.Combine(KitDir, "admin.token")).Trim();
        var listed = await RunInPodAsync(token, "payments", "status", "-o", "json");
        Assert.True(listed.Code == 0, $"exit {listed.Code}\n{listed.Out}\n{listed.Err}");
        Assert.Equal("[]", listed.Out.Trim());

        // The namespace comes from the service account's namespace file; the token from its token file.
        var missing = await RunInPodAsync(token, "payments", "status", "no-such-rollout");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("payments", missing.Out + missing.Err);

        var refused = await RunInPodAsync("not-a-valid-token", "payments", "status", "-o", "json");
        Assert.NotEqual(0, refused.Code);
        Assert.True(refused.Err.Contains("401") || refused.Err.Contains("Unauthorized", StringComparison.OrdinalIgnoreCase), refused.Err);
        Assert.DoesNotContain(token, listed.Out + listed.Err + missing.Out + missing.Err + refused.Out + refused.Err);
    }
}
