using System.Diagnostics;
using System.Management.Automation;

namespace Kubestead.PowerShell;

/// <summary>
/// Starts the emulated cluster (the `kubestead sandbox` command of the CLI) as a detached child process, points
/// $env:KUBECONFIG at it (remembering the previous value, which Stop-KubesteadSandbox restores) and returns where it runs.
/// The sandbox lives until Stop-KubesteadSandbox, the end of the runspace that started it or the end of the PowerShell
/// process (Remove-Module leaves it running); Ctrl+C on a later command does not reach it.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "KubesteadSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(KubesteadSandboxInfo))]
public sealed class StartKubesteadSandboxCommand : PSCmdlet
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The `kubestead sandbox` line that gives the emulated namerd's address (CliTests pin its form).</summary>
    private static readonly System.Text.RegularExpressions.Regex NamerdLine = new(@"^Emulated namerd \(dtab namespace '[^']*'\) at (?<address>http://\S+?);");

    [Parameter]
    [ValidateSet("istio", "linkerd", "smi", "none", "nginx", "linkerd1")]
    public string MeshProvider { get; set; } = "istio";

    /// <summary>The simulated traffic the sandbox serves as metrics: healthy, faulty or low-traffic.</summary>
    [Parameter]
    [ValidateSet("healthy", "faulty", "low-traffic")]
    public string Scenario { get; set; } = "healthy";

    /// <summary>The kubestead CLI to run: an executable or kubestead.dll (default: $env:KUBESTEAD_CLI, else `kubestead` on PATH).</summary>
    [Parameter]
    public string? CliPath { get; set; }

    /// <summary>
    /// Leave $env:KUBECONFIG alone (it is one variable for the whole process, shared by every runspace): pass the
    /// returned KubeConfig to the cmdlets' -KubeConfig instead, as ForEach-Object -Parallel and thread jobs must.
    /// </summary>
    [Parameter]
    public SwitchParameter NoEnvironment { get; set; }

    protected override void ProcessRecord()
    {
        var cli = CliPath is not null ? GetUnresolvedProviderPathFromPSPath(CliPath) : Environment.GetEnvironmentVariable("KUBESTEAD_CLI") ?? Which("kubestead");
        if (cli is null || !File.Exists(cli))
        {
            ThrowTerminatingError(new ErrorRecord(new FileNotFoundException(cli is null
                    ? "the kubestead CLI was not found: install it (dotnet tool install --global Kubestead.Cli), set $env:KUBESTEAD_CLI or pass -CliPath"
                    : $"-CliPath: '{cli}' does not exist", cli),
                "KubesteadCliNotFound", ErrorCategory.ObjectNotFound, cli ?? "kubestead"));
            return;
        }
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"kubestead-sandbox-{Guid.NewGuid():N}.yaml");
        if (!Confirmation.ShouldProcess(this, $"Start a sandbox ({MeshProvider})", MeshProvider, $"sandbox cluster ({MeshProvider}) with kubeconfig {kubeconfig}" +
                (NoEnvironment ? "; $env:KUBECONFIG is left alone" : "; $env:KUBECONFIG points at it until Stop-KubesteadSandbox"), "Start")) return;
        var current = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!NoEnvironment && SandboxRegistry.Running().FirstOrDefault(s => s.KubeConfig == current) is { } other)
            WriteWarning($"$env:KUBECONFIG points at another running sandbox (process {other.ProcessId}, {other.MeshProvider}, {other.KubeConfig}); " +
                         "this start points it, for every runspace of this process, at the new one. Sandboxes in parallel runspaces " +
                         "(ForEach-Object -Parallel, thread jobs) need -NoEnvironment and -KubeConfig $sandbox.KubeConfig on each cmdlet.");
        // The child's stdin is a pipe this process holds: when PowerShell ends, however it ends (SIGKILL of a cancelled
        // CI job included), the sandbox reads EOF and stops, removing its kubeconfig.
        Process process;
        try
        {
            process = StartDetached(cli, ["sandbox", "--mesh", MeshProvider, "--scenario", Scenario, "--kubeconfig-out", kubeconfig, "--stop-on-stdin-eof"]);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"the sandbox could not be started: {e.Message} (CLI: {cli})", e), "SandboxDidNotStart",
                ErrorCategory.InvalidResult, cli) { ErrorDetails = new ErrorDetails(string.Empty) { RecommendedAction = "Pass -CliPath with a working kubestead CLI (an executable or kubestead.dll run by dotnet)." } });
            return;
        }
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        // The CLI prints where its emulated namerd listens (linkerd1) right after the kubeconfig appears.
        var namerd = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (MeshProvider != "linkerd1") namerd.SetResult(null);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && NamerdLine.Match(e.Data) is { Success: true } m) namerd.TrySetResult(m.Groups["address"].Value);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + StartTimeout;
        while (!File.Exists(kubeconfig) && !process.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(50);
        if (!File.Exists(kubeconfig))
        {
            var exited = process.HasExited;
            if (!exited) process.Kill(true);
            WaitForExitAndStderr(process, TimeSpan.FromSeconds(5));
            string err;
            lock (stderr) err = stderr.ToString().Trim();
            var why = exited
                ? $"the sandbox exited at once with code {process.ExitCode}" + (err.Length > 0 ? $": {err}" : " and wrote nothing to stderr")
                : $"the sandbox wrote no kubeconfig within {StartTimeout.TotalSeconds:0} s" + (err.Length > 0 ? $"; stderr: {err}" : "");
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"{why} (CLI: {cli})"), "SandboxDidNotStart",
                exited ? ErrorCategory.InvalidResult : ErrorCategory.OperationTimeout, cli));
            return;
        }
        if (!namerd.Task.Wait(TimeSpan.FromSeconds(10)))
        {
            process.Kill(true);
            process.WaitForExit(5000);
            File.Delete(kubeconfig); // killed, so it could not remove its kubeconfig itself
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"the sandbox (linkerd1) did not say where its emulated namerd listens within 10 s (CLI: {cli})"),
                "SandboxDidNotStart", ErrorCategory.OperationTimeout, cli));
            return;
        }
        var info = new KubesteadSandboxInfo
        {
            ProcessId = process.Id, KubeConfig = kubeconfig, Namespace = "shop", MeshProvider = MeshProvider, NamerdAddress = namerd.Task.Result,
            PreviousKubeConfig = NoEnvironment ? null : Environment.GetEnvironmentVariable("KUBECONFIG"),
        };
        SandboxRegistry.Add(info, process, System.Management.Automation.Runspaces.Runspace.DefaultRunspace);
        if (!NoEnvironment) Environment.SetEnvironmentVariable("KUBECONFIG", kubeconfig);
        WriteObject(info);
    }

    /// <summary>
    /// Waits for the process to end and for its redirected output to be read to the end: the timed WaitForExit returns at
    /// the exit, before the last lines reach the handlers, so a CLI that wrote why it failed and exited at once was once
    /// reported as having written nothing.
    /// </summary>
    private static void WaitForExitAndStderr(Process process, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            process.WaitForExitAsync(cts.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // Still running or its pipes still open after the limit: report what was read.
        }
    }

    /// <summary>
    /// On Unix the child gets a session of its own (setsid), so a terminal's Ctrl+C, sent to the foreground process
    /// group, stops the command the user meant and not the sandbox.
    /// </summary>
    private static Process StartDetached(string cli, string[] args)
    {
        var isDll = cli.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var program = isDll ? "dotnet" : cli;
        var setsid = OperatingSystem.IsWindows() ? null : new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);
        var psi = new ProcessStartInfo(setsid ?? program)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        if (setsid is not null) psi.ArgumentList.Add(program);
        if (isDll) psi.ArgumentList.Add(cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {cli}");
    }

    private static string? Which(string tool) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
        .SelectMany(d => new[] { Path.Combine(d, tool), Path.Combine(d, tool + ".exe") }).FirstOrDefault(File.Exists);
}

/// <summary>
/// Stops sandboxes started by Start-KubesteadSandbox in this PowerShell process (the newest by default, the piped one,
/// or -All): asks the process to stop (it removes its kubeconfig), waits up to 5 s, then kills it; restores
/// $env:KUBECONFIG to what it was before that sandbox started. Outputs nothing unless -PassThru.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "KubesteadSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = "Newest")]
[OutputType(typeof(KubesteadSandboxInfo))]
public sealed class StopKubesteadSandboxCommand : PSCmdlet
{
    /// <summary>Write each stopped sandbox's info, as Stop-Process -PassThru writes the stopped process.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Process")]
    public int ProcessId { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "All")]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var targets = ParameterSetName switch
        {
            "All" => SandboxRegistry.Running().Reverse().ToList(),
            "Process" => SandboxRegistry.Running().Where(s => s.ProcessId == ProcessId).ToList(),
            _ => SandboxRegistry.Running().TakeLast(1).ToList(),
        };
        if (targets.Count == 0)
        {
            if (ParameterSetName == "Process")
                WriteError(new ErrorRecord(new ItemNotFoundException($"no sandbox with process id {ProcessId} was started in this session"), "SandboxNotFound", ErrorCategory.ObjectNotFound, ProcessId));
            else if (ParameterSetName != "All")
                WriteWarning("No sandbox was started in this session.");
            return;
        }
        foreach (var info in targets)
        {
            var environment = Environment.GetEnvironmentVariable("KUBECONFIG") == info.KubeConfig
                ? $"$env:KUBECONFIG back to {info.PreviousKubeConfig ?? "(unset)"}"
                : "$env:KUBECONFIG unchanged (it does not point at this sandbox)";
            if (!Confirmation.ShouldProcess(this, $"Stop sandbox process {info.ProcessId}", info, $"sandbox process {info.ProcessId} ({info.KubeConfig}); {environment}", "Stop")) continue;
            SandboxRegistry.Stop(info, restoreKubeConfig: true);
            if (PassThru) WriteObject(info);
        }
    }
}
