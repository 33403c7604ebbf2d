# The cmdlets are compiled (Kubestead.dll, loaded as a nested module). This file only holds what must run in the
# module's session state: sandboxes started by Start-KubesteadSandbox stop when the module is removed or the
# PowerShell engine exits (the process exit is covered by Kubestead.dll itself).
Set-StrictMode -Version Latest

$ExecutionContext.SessionState.Module.OnRemove = {
    Stop-KubesteadSandbox -All -Confirm:$false -WhatIf:$false
}
$null = Register-EngineEvent -SourceIdentifier PowerShell.Exiting -SupportEvent -Action {
    if (Get-Command Stop-KubesteadSandbox -ErrorAction Ignore) { Stop-KubesteadSandbox -All -Confirm:$false -WhatIf:$false }
}
