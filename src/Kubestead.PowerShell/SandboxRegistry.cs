using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kubestead.PowerShell;

/// <summary>
/// The sandboxes this PowerShell process started. Process-wide on purpose: child processes belong to the process, not
/// to a runspace or a function scope, so a sandbox started inside a function or a job is still found and stopped.
/// The process's exit (and the module's removal, through Kubestead.psm1) stops whatever is left.
/// </summary>
internal static class SandboxRegistry
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private static readonly object Gate = new();
    private static readonly List<(KubesteadSandboxInfo Info, Process Process)> Sandboxes = [];

    static SandboxRegistry() => AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();

    public static void Add(KubesteadSandboxInfo info, Process process)
    {
        lock (Gate) Sandboxes.Add((info, process));
    }

    public static IReadOnlyList<KubesteadSandboxInfo> Running()
    {
        lock (Gate) return Sandboxes.Select(s => s.Info).ToList();
    }

    public static void StopAll()
    {
        foreach (var info in Running().Reverse()) Stop(info);
    }

    /// <summary>Asks the sandbox to stop (SIGTERM: it removes its kubeconfig), kills it after the grace, restores KUBECONFIG.</summary>
    public static void Stop(KubesteadSandboxInfo info)
    {
        Process? process;
        lock (Gate)
        {
            var i = Sandboxes.FindIndex(s => ReferenceEquals(s.Info, info));
            if (i < 0) return;
            process = Sandboxes[i].Process;
            Sandboxes.RemoveAt(i);
            // A sandbox started after this one remembers this one's kubeconfig as "previous": hand it ours instead.
            foreach (var (other, _) in Sandboxes)
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
        if (Environment.GetEnvironmentVariable("KUBECONFIG") == info.KubeConfig)
            Environment.SetEnvironmentVariable("KUBECONFIG", info.PreviousKubeConfig);
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
