using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Kubestead.Cli.Tests;

/// <summary>
/// The built <c>kubestead</c> run as a real child process (stdin redirected, so it is not a terminal), with its output
/// collected line by line and real signals sent with kill(2).
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    public const int Sigint = 2;
    public const int Sigquit = 3;
    public const int Sigterm = 15;

    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();
    private readonly object _gate = new();

    private ChildProcess(Process process) => _process = process;

    public static string KubesteadDll => Path.Combine(AppContext.BaseDirectory, "kubestead.dll");

    public int Id => _process.Id;

    public string Out
    {
        get { lock (_gate) return _out.ToString(); }
    }

    public string Err
    {
        get { lock (_gate) return _err.ToString(); }
    }

    /// <summary>Starts <c>dotnet kubestead.dll args</c>; with <paramref name="ignoreSigint"/> as a non-interactive shell starts a background job (SIGINT ignored).</summary>
    public static ChildProcess Start(IEnumerable<string> args, bool ignoreSigint = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var all = new List<string> { KubesteadDll };
        all.AddRange(args);
        if (ignoreSigint)
        {
            psi.FileName = "/bin/sh";
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("trap '' INT; exec dotnet \"$@\"");
            psi.ArgumentList.Add("sh");
        }
        else
        {
            psi.FileName = "dotnet";
        }
        foreach (var a in all) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return Launch(psi);
    }

    /// <summary>
    /// Starts <c>dotnet kubestead.dll args</c> as in a pod: no kubeconfig, the service account's files (token, ca.crt,
    /// namespace from <paramref name="serviceAccountDir"/>) mounted at their real path in a private mount namespace
    /// (`unshare -m -r`, so the machine's /run is untouched), and KUBERNETES_SERVICE_HOST/PORT naming the API server.
    /// </summary>
    public static ChildProcess StartInPod(IEnumerable<string> args, string serviceAccountDir, string apiServerPort, string home,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("unshare")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-m", "-r", "sh", "-c",
                     "mount -t tmpfs tmpfs /run && d=/run/secrets/kubernetes.io/serviceaccount && mkdir -p $d && cp \"$SA\"/* $d/ && exec dotnet \"$@\"",
                     "sh", KubesteadDll })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("KUBECONFIG");
        psi.Environment["HOME"] = home;
        psi.Environment["SA"] = serviceAccountDir;
        psi.Environment["KUBERNETES_SERVICE_HOST"] = "127.0.0.1";
        psi.Environment["KUBERNETES_SERVICE_PORT"] = apiServerPort;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return Launch(psi);
    }

    private static ChildProcess Launch(ProcessStartInfo psi)
    {
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var ci in new[] { "GITHUB_ACTIONS", "TF_BUILD", "CI" }) psi.Environment.Remove(ci);
        var child = new ChildProcess(new Process { StartInfo = psi, EnableRaisingEvents = true });
        child._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (child._gate) child._out.AppendLine(e.Data);
        };
        child._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (child._gate) child._err.AppendLine(e.Data);
        };
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs to the end and returns the exit code and output.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        using var child = Start(args, environment: environment);
        if (!await child.WaitForExitAsync(timeout)) throw new TimeoutException($"kubestead {string.Join(' ', args)} did not end within {timeout}:\n{child.Out}\n{child.Err}");
        return (child.ExitCode, child.Out, child.Err);
    }

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    /// <summary>Waits until stdout has a line for which <paramref name="match"/> holds.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (Out.Split('\n').Any(match)) return;
            if (_process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no output line with {what} within {timeout} (exited: {_process.HasExited}):\n{Out}\n{Err}");
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054 // a plain int signature; no source generator needed
    private static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
}
