#Requires -Version 7.4
<#
.SYNOPSIS
    Measures, in fresh pwsh processes, Import-Module Kubestead and the first cluster cmdlet against the sandbox.
.DESCRIPTION
    Goals (issue #10): import <= 150 ms, first cluster cmdlet <= 600 ms. Each run is a new `pwsh -NoProfile` that
    times Import-Module and then Get-KubesteadRollout against a running `kubestead sandbox`; the median and the
    spread of -Runs runs are written to -Out as markdown.
    Run: dotnet pwsh -NoProfile -File bench/pwsh/Measure-ModuleStartup.ps1   (after: dotnet build src/Kubestead.PowerShell -t:StageModule; dotnet build src/Kubestead.Cli)
#>
param(
    [int] $Runs = 15,
    [string] $Out = (Join-Path $PSScriptRoot '../results/pwsh-startup.md')
)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path "$PSScriptRoot/../..").Path
$module = Join-Path $root 'out/Kubestead/Kubestead.psd1'
$cli = Join-Path $root 'src/Kubestead.Cli/bin/Debug/net8.0/kubestead.dll'
foreach ($f in $module, $cli) { if (-not (Test-Path $f)) { throw "$f is missing: stage the module and build the CLI first" } }
Import-Module $module
$sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath $cli
try {
    $probe = @"
`$i = [Diagnostics.Stopwatch]::StartNew(); Import-Module '$module'; `$i.Stop()
`$c = [Diagnostics.Stopwatch]::StartNew(); `$null = Get-KubesteadRollout -Namespace shop; `$c.Stop()
'{0:0.0} {1:0.0}' -f `$i.Elapsed.TotalMilliseconds, `$c.Elapsed.TotalMilliseconds
"@
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    $samples = foreach ($n in 1..$Runs) {
        $line = & dotnet $pwsh -NoProfile -NonInteractive -Command $probe
        $parts = "$line".Trim().Split(' ')
        [pscustomobject]@{ Import = [double]$parts[0]; FirstCmdlet = [double]$parts[1] }
    }
} finally {
    $sandbox | Stop-KubesteadSandbox
}
function Median([double[]] $v) { $s = $v | Sort-Object; if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
$imp = $samples.Import; $first = $samples.FirstCmdlet
$md = @"
# PowerShell module start-up (fresh pwsh per run)

``dotnet pwsh -NoProfile -File bench/pwsh/Measure-ModuleStartup.ps1 -Runs $Runs`` on $(Get-Date -Format 'yyyy-MM-dd'),
pwsh $($PSVersionTable.PSVersion), $([Environment]::ProcessorCount) cores, Debug build, against ``kubestead sandbox`` on 127.0.0.1.

| measure | median | min | max | goal |
|---|---|---|---|---|
| Import-Module Kubestead | $('{0:0}' -f (Median $imp)) ms | $('{0:0}' -f ($imp | Measure-Object -Minimum).Minimum) ms | $('{0:0}' -f ($imp | Measure-Object -Maximum).Maximum) ms | <= 150 ms |
| first cluster cmdlet (Get-KubesteadRollout -Namespace shop) | $('{0:0}' -f (Median $first)) ms | $('{0:0}' -f ($first | Measure-Object -Minimum).Minimum) ms | $('{0:0}' -f ($first | Measure-Object -Maximum).Maximum) ms | <= 600 ms |

The first cluster cmdlet includes loading Kubestead.Core and its dependencies into the module's private load context,
reading the kubeconfig, connecting, and one LIST of ConfigMaps.
"@
$md | Set-Content $Out
$md
