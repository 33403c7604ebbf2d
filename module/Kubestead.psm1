# The cmdlets are compiled (Kubestead.dll, loaded as a nested module). This file only registers
# argument completers and anything else that must run in the module's session state.
Set-StrictMode -Version Latest
