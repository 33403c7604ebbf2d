using System.Diagnostics;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

/// <summary>
/// A kube-apiserver of the kit (../shared/kube-apiserver) for one outage test alone: the test stalls or cuts it off, so it
/// must not share the suite's server, and separate servers let the outage tests run in parallel.
/// </summary>
public sealed class PrivateApiServer : IDisposable
{
    private PrivateApiServer(string workDir)
    {
        WorkDir = workDir;
        Kubeconfig = Path.Combine(workDir, "kubeconfig");
        var env = File.ReadAllLines(Path.Combine(workDir, "env")).Select(l => l.Replace("export ", "").Split('=', 2))
            .Where(kv => kv.Length == 2).ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim().Trim('"', '\''));
        Url = new Uri(env["KUBE_APISERVER_URL"]);
    }

    private static string Kit => Path.GetFullPath(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "..", "shared", "kube-apiserver"));

    public string WorkDir { get; }
    public string Kubeconfig { get; }
    public Uri Url { get; }
    public string AdminToken => File.ReadAllText(Path.Combine(WorkDir, "admin.token")).Trim();
    public string CaFile => Path.Combine(WorkDir, "pki", "ca.crt");
    private int ApiServerPid => int.Parse(File.ReadAllText(Path.Combine(WorkDir, "run", "kube-apiserver.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<PrivateApiServer> StartAsync()
    {
        var work = Directory.CreateTempSubdirectory("kubestead-outage-kas-").FullName;
        var (code, _, err) = await RunAsync(Path.Combine(Kit, "start"), work);
        if (code != 0)
        {
            await RunAsync(Path.Combine(Kit, "stop"), work);
            throw new InvalidOperationException($"../shared/kube-apiserver/start failed ({code}): {err}");
        }
        return new PrivateApiServer(work);
    }

    /// <summary>SIGSTOP: the process keeps its port, the kernel accepts connections, nothing answers.</summary>
    public Task StallAsync() => SignalAsync("-STOP");

    public Task ContinueAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var (code, _, err) = await RunAsync("kill", signal, ApiServerPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (code != 0) throw new InvalidOperationException($"kill {signal} failed: {err}");
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }

    public void Dispose()
    {
        try
        {
            ContinueAsync().GetAwaiter().GetResult(); // a stopped process must run again to be stopped cleanly
        }
        catch (InvalidOperationException)
        {
        }
        RunAsync(Path.Combine(Kit, "stop"), WorkDir).GetAwaiter().GetResult();
    }
}
