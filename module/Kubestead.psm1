# The cmdlets are compiled (Kubestead.dll, loaded as a nested module). This file only holds what must run in the
# module's session state: sandboxes started by Start-KubesteadSandbox stop when the module is removed or the
# runspace that started them closes (the process exit is covered by Kubestead.dll itself); a thread job that
# imports the module and ends leaves the sandboxes of the host alone.
Set-StrictMode -Version Latest

$ExecutionContext.SessionState.Module.OnRemove = {
    Stop-KubesteadSandbox -StartedInThisRunspace -Confirm:$false -WhatIf:$false
}
$null = Register-EngineEvent -SourceIdentifier PowerShell.Exiting -SupportEvent -Action {
    if (Get-Command Stop-KubesteadSandbox -ErrorAction Ignore) { Stop-KubesteadSandbox -StartedInThisRunspace -Confirm:$false -WhatIf:$false }
}
