using System.Management.Automation;
using System.Management.Automation.Host;

namespace Kubestead.PowerShell;

/// <summary>
/// Runs when Kubestead is removed by Remove-Module (PowerShell does not call a nested module's cleanup on
/// Import-Module -Force; <see cref="ModuleInitializer"/> closes the connections then). Sandboxes are deliberately left running and
/// $env:KUBECONFIG is left on them: the assembly stays loaded, so a re-imported module still finds and stops them,
/// whereas stopping here would silently send every later command to the cluster the user had before (possibly a
/// real one). The user is told which sandboxes are still running. The session's kept cluster connections are closed:
/// a re-imported module connects anew.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (System.Management.Automation.Runspaces.Runspace.DefaultRunspace is { } runspace) SessionConnections.CloseFor(runspace);
        var running = SandboxRegistry.Running();
        if (running.Count == 0) return;
        var names = string.Join(", ", running.Select(s => $"process {s.ProcessId} ({s.MeshProvider}, kubeconfig {s.KubeConfig})"));
        var text = $"Kubestead was removed; its sandbox(es) keep running and $env:KUBECONFIG is unchanged: {names}. " +
                   "Import-Module Kubestead and Stop-KubesteadSandbox -All stops them; they also end with this PowerShell process.";
        HostOf()?.UI.WriteWarningLine(text);
    }

    /// <summary>The host of the runspace removing the module: there is no cmdlet here whose warning stream could carry it.</summary>
    private static PSHost? HostOf()
    {
        if (System.Management.Automation.Runspaces.Runspace.DefaultRunspace is null) return null;
        using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        return ps.AddCommand("Microsoft.PowerShell.Utility\\Get-Variable").AddParameter("Name", "Host").AddParameter("ValueOnly").Invoke<PSHost>().FirstOrDefault();
    }
}
