using System.Diagnostics;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

/// <summary>
/// A kube-apiserver of the kit (../shared/kube-apiserver) for one outage test alone: the test stalls or cuts it off, so it
/// must not share the suite's server, and separate servers let the outage tests run in parallel.
/// </summary>
public sealed class PrivateApiServer : IDisposable
{
    private readonly Process _watchdog;

    private PrivateApiServer(string workDir, Process watchdog)
    {
        _watchdog = watchdog;
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

    public static Task<PrivateApiServer> StartAsync() => StartAsync(Environment.ProcessId);

    /// <summary>
    /// Starts a server that lives no longer than the process <paramref name="ownerPid"/>: a detached watchdog stops it
    /// when that process is gone, so a test run that is killed (CI cancelled, kill -9) leaves no kube-apiserver or etcd.
    /// </summary>
    public static async Task<PrivateApiServer> StartAsync(int ownerPid)
    {
        var work = Directory.CreateTempSubdirectory("kubestead-outage-kas-").FullName;
        var watchdog = StartWatchdog(ownerPid, work);
        var (code, _, err) = await RunAsync(Path.Combine(Kit, "start"), work);
        if (code != 0)
        {
            await RunAsync(Path.Combine(Kit, "stop"), work);
            StopWatchdog(watchdog);
            throw new InvalidOperationException($"../shared/kube-apiserver/start failed ({code}): {err}");
        }
        return new PrivateApiServer(work, watchdog);
    }

    /// <summary>The kube-apiserver's pid, for tests that check it is gone.</summary>
    public int ProcessId => ApiServerPid;

    // setsid: the watchdog must not die with the test's process group, or it could not clean up after it.
    // It continues a stalled server first (a SIGSTOPped process cannot be stopped cleanly) and waits for `start` to
    // write its pid files, so an owner killed during start is cleaned up too.
    private static Process StartWatchdog(int ownerPid, string work)
    {
        var script = $$"""
            exec >/dev/null 2>&1
            while kill -0 {{ownerPid}} 2>/dev/null; do sleep 1; done
            [ -f "$1/run/kube-apiserver.pid" ] && kill -CONT "$(cat "$1/run/kube-apiserver.pid")" 2>/dev/null
            exec "$2" "$1"
            """;
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "bash", "-c", script, "kubestead-outage-watchdog", work, Path.Combine(Kit, "stop") }) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static void StopWatchdog(Process watchdog)
    {
        try
        {
            if (!watchdog.HasExited) watchdog.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        watchdog.Dispose();
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
        StopWatchdog(_watchdog);
        if (!Directory.Exists(WorkDir)) return; // already stopped (by the watchdog, or a test that stops it)
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
