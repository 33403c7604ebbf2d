using System.Diagnostics;
using System.Management.Automation.Runspaces;
using System.Runtime.InteropServices;

namespace Kubestead.PowerShell;

/// <summary>
/// The sandboxes this PowerShell process started. Process-wide on purpose: child processes belong to the process, not
/// to a runspace or a function scope, so a sandbox started inside a function or a job is still found and stopped.
/// The process's exit stops whatever is left; a runspace that closes stops the sandboxes it started. Neither restores
/// $env:KUBECONFIG (fail closed): only an explicit Stop-KubesteadSandbox points it back at the previous cluster, which
/// may be a real one. Removing the module stops nothing (<see cref="ModuleCleanup"/>).
/// </summary>
internal static class SandboxRegistry
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private static readonly object Gate = new();
    private static readonly List<(KubesteadSandboxInfo Info, Process Process, Guid Runspace)> Sandboxes = [];
    private static readonly HashSet<Guid> WatchedRunspaces = [];

    static SandboxRegistry() => AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();

    public static void Add(KubesteadSandboxInfo info, Process process, Runspace? runspace)
    {
        var id = runspace?.InstanceId ?? Guid.Empty;
        bool watch;
        lock (Gate)
        {
            Sandboxes.Add((info, process, id));
            watch = runspace is not null && WatchedRunspaces.Add(id);
        }
        if (watch) runspace!.StateChanged += (_, e) =>
        {
            if (e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken) StopStartedIn(id);
        };
    }

    /// <summary>
    /// Stops the sandboxes one runspace started when it closes (a thread job or a ForEach-Object -Parallel runspace
    /// ending), leaving $env:KUBECONFIG alone; a runspace that only imports the module leaves other sandboxes alone.
    /// </summary>
    private static void StopStartedIn(Guid runspace)
    {
        List<KubesteadSandboxInfo> mine;
        lock (Gate) mine = Sandboxes.Where(s => s.Runspace == runspace).Select(s => s.Info).ToList();
        foreach (var info in Enumerable.Reverse(mine)) Stop(info, restoreKubeConfig: false);
    }

    public static IReadOnlyList<KubesteadSandboxInfo> Running()
    {
        lock (Gate) return Sandboxes.Select(s => s.Info).ToList();
    }

    private static void StopAll()
    {
        foreach (var info in Running().Reverse()) Stop(info, restoreKubeConfig: false);
    }

    /// <summary>
    /// Asks the sandbox to stop (SIGTERM: it removes its kubeconfig), kills it after the grace; with
    /// <paramref name="restoreKubeConfig"/> (an explicit Stop-KubesteadSandbox only) points KUBECONFIG back.
    /// </summary>
    public static void Stop(KubesteadSandboxInfo info, bool restoreKubeConfig)
    {
        Process? process;
        lock (Gate)
        {
            var i = Sandboxes.FindIndex(s => ReferenceEquals(s.Info, info));
            if (i < 0) return;
            process = Sandboxes[i].Process;
            Sandboxes.RemoveAt(i);
            // A sandbox started after this one remembers this one's kubeconfig as "previous": hand it ours instead.
            foreach (var (other, _, _) in Sandboxes)
                if (other.PreviousKubeConfig == info.KubeConfig) other.PreviousKubeConfig = info.PreviousKubeConfig;
        }
        try
        {
            if (!process.HasExited)
            {
                if (!OperatingSystem.IsWindows()) _ = Kill(process.Id, SigTerm);
                if (OperatingSystem.IsWindows() || !process.WaitForExit(StopGrace)) process.Kill(true);
                process.WaitForExit(StopGrace);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
        try
        {
            if (File.Exists(info.KubeConfig)) File.Delete(info.KubeConfig);
        }
        catch (IOException)
        {
            // Best effort: the file holds a throw-away kubeconfig of a cluster that no longer runs.
        }
        if (restoreKubeConfig && Environment.GetEnvironmentVariable("KUBECONFIG") == info.KubeConfig)
            Environment.SetEnvironmentVariable("KUBECONFIG", info.PreviousKubeConfig);
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
