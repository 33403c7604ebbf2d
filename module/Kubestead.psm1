# The cmdlets are compiled (Kubestead.dll, loaded as a nested module); this file exists only as the manifest's root
# module. What happens to sandboxes when the module is removed, a runspace closes or the process ends is decided in
# Kubestead.dll (ModuleCleanup, SandboxRegistry), with no hidden cmdlet parameter to bypass -WhatIf/-Confirm.
Set-StrictMode -Version Latest
