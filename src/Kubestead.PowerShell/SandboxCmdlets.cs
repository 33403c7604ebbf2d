using System.Diagnostics;
using System.Management.Automation;

namespace Kubestead.PowerShell;

/// <summary>
/// Starts the emulated cluster (the `kubestead sandbox` command of the CLI, as a child process), points $env:KUBECONFIG
/// at it for this session, and returns where it runs.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "KubesteadSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(KubesteadSandboxInfo))]
public sealed class StartKubesteadSandboxCommand : PSCmdlet
{
    internal const string SessionVariable = "KubesteadSandbox";

    [Parameter]
    [ValidateSet("istio", "linkerd", "smi", "none")]
    public string MeshProvider { get; set; } = "istio";

    /// <summary>The kubestead CLI to run (default: `kubestead` on PATH, or $env:KUBESTEAD_CLI).</summary>
    [Parameter]
    public string? CliPath { get; set; }

    protected override void ProcessRecord()
    {
        var cli = CliPath ?? Environment.GetEnvironmentVariable("KUBESTEAD_CLI") ?? Which("kubestead");
        if (cli is null)
        {
            ThrowTerminatingError(new ErrorRecord(new FileNotFoundException("the kubestead CLI was not found: install it (dotnet tool install --global Kubestead.Cli) or pass -CliPath"),
                "KubesteadCliNotFound", ErrorCategory.ObjectNotFound, "kubestead"));
            return;
        }
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"kubestead-sandbox-{Guid.NewGuid():N}.yaml");
        if (!ShouldProcess($"sandbox cluster ({MeshProvider}) with kubeconfig {kubeconfig}", "Start")) return;
        var psi = new ProcessStartInfo(cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "sandbox", "--mesh", MeshProvider, "--kubeconfig-out", kubeconfig }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(kubeconfig) && !process.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(100);
        if (!File.Exists(kubeconfig))
        {
            if (!process.HasExited) process.Kill(true);
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException("the sandbox did not start (no kubeconfig within 60 s)"), "SandboxDidNotStart", ErrorCategory.OperationTimeout, cli));
            return;
        }
        Environment.SetEnvironmentVariable("KUBECONFIG", kubeconfig);
        var info = new KubesteadSandboxInfo { ProcessId = process.Id, KubeConfig = kubeconfig, Namespace = "shop" };
        SessionState.PSVariable.Set(SessionVariable, info);
        WriteObject(info);
    }

    private static string? Which(string tool) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
        .SelectMany(d => new[] { Path.Combine(d, tool), Path.Combine(d, tool + ".exe") }).FirstOrDefault(File.Exists);
}

/// <summary>Stops the sandbox started in this session and removes its kubeconfig.</summary>
[Cmdlet(VerbsLifecycle.Stop, "KubesteadSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(void))]
public sealed class StopKubesteadSandboxCommand : PSCmdlet
{
    protected override void ProcessRecord()
    {
        if (SessionState.PSVariable.GetValue(StartKubesteadSandboxCommand.SessionVariable) is not KubesteadSandboxInfo info)
        {
            WriteWarning("No sandbox was started in this session.");
            return;
        }
        if (!ShouldProcess($"sandbox process {info.ProcessId}", "Stop")) return;
        try
        {
            using var p = Process.GetProcessById(info.ProcessId);
            p.Kill(true);
        }
        catch (ArgumentException)
        {
            // already gone
        }
        if (File.Exists(info.KubeConfig)) File.Delete(info.KubeConfig);
        if (Environment.GetEnvironmentVariable("KUBECONFIG") == info.KubeConfig) Environment.SetEnvironmentVariable("KUBECONFIG", null);
        SessionState.PSVariable.Remove(StartKubesteadSandboxCommand.SessionVariable);
    }
}
