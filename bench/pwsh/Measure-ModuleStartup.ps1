#Requires -Version 7.4
<#
.SYNOPSIS
    Measures, in fresh pwsh processes, Import-Module Kubestead, the first and the warm cluster cmdlet, and curl making
    the same request, against a real API server (issue #33).
.DESCRIPTION
    Goals (issue #33): Import-Module <= 150 ms over a bare pwsh start; the first cluster cmdlet in a fresh session
    (Get-KubesteadRollout -Namespace NS) <= 400 ms; a warm cmdlet in the same session <= 1.5x curl doing the same
    request, process start included.
    Each round, alternating: a bare `pwsh -NoProfile -Command exit` and one with Import-Module (whole-process wall time:
    the import's cost over a bare start); a fresh pwsh that times, in itself, Import-Module, the first
    Get-KubesteadRollout and -Warm more of them (wall and the process's CPU time); and -Warm curl processes sending the
    same LIST with the same server CA and bearer token. Medians over -Rounds go to -Out as markdown, with the command,
    the commit and the load average. PowerShell's telemetry and update check are turned off in the measured processes:
    they run on background threads whose cost is PowerShell's, not the module's.
    -KubeConfig must use a bearer token and an embedded CA (the layout of ../shared/kube-apiserver's kubeconfig).
    Run: dotnet build src/Kubestead.PowerShell -t:StageModule; eval "$(../shared/kube-apiserver/start)";
         dotnet pwsh -NoProfile -File bench/pwsh/Measure-ModuleStartup.ps1 -KubeConfig $KUBECONFIG_TEST
#>
param(
    [Parameter(Mandatory)] [string] $KubeConfig,
    [string] $Namespace = 'default',
    [int] $Rounds = 10,
    [int] $Warm = 5,
    # Another staged module to measure the same way (an older build, for a before/after); default: out/Kubestead.
    [string] $ModulePath,
    [string] $Out = (Join-Path $PSScriptRoot '../results/pwsh-startup.md')
)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path "$PSScriptRoot/../..").Path
$module = if ($ModulePath) { (Resolve-Path $ModulePath).Path } else { Join-Path $root 'out/Kubestead/Kubestead.psd1' }
if (-not (Test-Path $module)) { throw "$module is missing: stage the module first (dotnet build src/Kubestead.PowerShell -t:StageModule)" }
$KubeConfig = (Resolve-Path $KubeConfig).Path
$pwsh = Join-Path $PSHOME 'pwsh.dll'
$env:POWERSHELL_TELEMETRY_OPTOUT = '1'
$env:POWERSHELL_UPDATECHECK = 'Off'

# The current context's server, CA and token, read from the kubeconfig's plain layout (no YAML library in this script).
$text = Get-Content -Raw $KubeConfig
$current = [regex]::Match($text, '(?m)^current-context:\s*(\S+)').Groups[1].Value
$user = [regex]::Match($text, "(?ms)^- name: $([regex]::Escape($current))\s*\n\s*context:\s*\{[^}]*user:\s*([^,}\s]+)").Groups[1].Value
$token = [regex]::Match($text, "(?ms)^- name: $([regex]::Escape($user))\s*\n\s*user:\s*\n\s*token:\s*(\S+)").Groups[1].Value
$server = [regex]::Match($text, '(?m)^\s*server:\s*(\S+)').Groups[1].Value
$caData = [regex]::Match($text, '(?m)^\s*certificate-authority-data:\s*(\S+)').Groups[1].Value
if (-not ($token -and $server -and $caData)) { throw "$KubeConfig`: expected a token user and an embedded CA in the current context ($current)" }
$ca = New-TemporaryFile
$headers = New-TemporaryFile
[IO.File]::WriteAllBytes($ca, [Convert]::FromBase64String($caData))
# The token goes to curl in a header file, not on its command line (where ps would show it).
"Authorization: Bearer $token" | Set-Content $headers
$selector = [uri]::EscapeDataString('app.kubernetes.io/managed-by=kubestead,app.kubernetes.io/component=rollout-state')
$url = "$server/api/v1/namespaces/$Namespace/configmaps?labelSelector=$selector&limit=250"

$probe = @"
`$p = [Diagnostics.Process]::GetCurrentProcess()
function Cpu { `$p.Refresh(); `$p.TotalProcessorTime.TotalMilliseconds }
`$c0 = Cpu; `$s = [Diagnostics.Stopwatch]::StartNew(); Import-Module '$module'; `$iw = `$s.Elapsed.TotalMilliseconds; `$ic = (Cpu) - `$c0
`$c0 = Cpu; `$s.Restart(); `$null = Get-KubesteadRollout -Namespace '$Namespace' -KubeConfig '$KubeConfig' -ErrorAction Stop; `$fw = `$s.Elapsed.TotalMilliseconds; `$fc = (Cpu) - `$c0
`$warm = foreach (`$i in 1..$Warm) { `$s.Restart(); `$null = Get-KubesteadRollout -Namespace '$Namespace' -KubeConfig '$KubeConfig' -ErrorAction Stop; `$s.Elapsed.TotalMilliseconds }
`$c0 = Cpu; `$null = Get-KubesteadRollout -Namespace '$Namespace' -KubeConfig '$KubeConfig' -ErrorAction Stop; `$wc = (Cpu) - `$c0
'{0:0.0} {1:0.0} {2:0.0} {3:0.0} {4:0.0} {5}' -f `$iw, `$ic, `$fw, `$fc, `$wc, (`$warm -join ',')
"@

function Measure-Process([string] $File, [string[]] $Arguments) {
    $s = [Diagnostics.Stopwatch]::StartNew()
    $output = & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') exited with $LASTEXITCODE" }
    [pscustomobject]@{ Ms = $s.Elapsed.TotalMilliseconds; Output = $output }
}
function Median([double[]] $v) { $s = @($v | Sort-Object); if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }

$load = @((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ')[0..2] -join ', '
$samples = [Collections.Generic.List[object]]::new()
$curlMs = [Collections.Generic.List[double]]::new()
$warmMs = [Collections.Generic.List[double]]::new()
try {
    foreach ($n in 1..$Rounds) {
        $bare = (Measure-Process dotnet @($pwsh, '-NoProfile', '-NonInteractive', '-Command', 'exit')).Ms
        $imported = (Measure-Process dotnet @($pwsh, '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$module'")).Ms
        $line = "$((Measure-Process dotnet @($pwsh, '-NoProfile', '-NonInteractive', '-Command', $probe)).Output)".Trim().Split(' ')
        foreach ($w in $line[5].Split(',')) { $warmMs.Add([double]$w) }
        foreach ($i in 1..$Warm) {
            $curlMs.Add((Measure-Process curl @('-sS', '-o', '/dev/null', '--fail', '--cacert', $ca, '-H', "@$headers", $url)).Ms)
        }
        $samples.Add([pscustomobject]@{
                Bare = $bare; ImportedProcess = $imported; ImportWall = [double]$line[0]; ImportCpu = [double]$line[1]
                FirstWall = [double]$line[2]; FirstCpu = [double]$line[3]; WarmCpu = [double]$line[4]
            })
    }
} finally {
    Remove-Item $ca, $headers -ErrorAction SilentlyContinue
}
$loadAfter = @((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ')[0..2] -join ', '
$commit = (git -C $root rev-parse --short HEAD) + $(if (git -C $root status --porcelain -- src module build) { ' (with uncommitted changes)' })
$m = @{}
foreach ($k in 'Bare', 'ImportedProcess', 'ImportWall', 'ImportCpu', 'FirstWall', 'FirstCpu', 'WarmCpu') { $m[$k] = Median ($samples | ForEach-Object $k) }
$importOverBare = $m.ImportedProcess - $m.Bare
$warmMedian = Median $warmMs
$curl = Median $curlMs
function Verdict([bool] $ok) { if ($ok) { 'met' } else { 'not met' } }
$md = @"
# PowerShell module start-up, first and warm cmdlet (fresh pwsh per round)

``dotnet pwsh -NoProfile -File bench/pwsh/Measure-ModuleStartup.ps1 -KubeConfig <kit kubeconfig> -Rounds $Rounds -Warm $($Warm)``
on $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC, commit $commit, pwsh $($PSVersionTable.PSVersion) (the repository's dotnet
tool), $([Environment]::ProcessorCount) cores, Debug build of the staged module$(if ($ModulePath) { " $module" }), against the real kube-apiserver kit on
127.0.0.1 (token auth, TLS). Load average $load before and $loadAfter after (the machine is shared: read CPU times and
ratios). Medians of $Rounds rounds; warm cmdlet and curl: $($warmMs.Count) samples each, alternating by round.

| measure | wall (median) | CPU of the pwsh process | goal | |
|---|---|---|---|---|
| bare ``pwsh -NoProfile -Command exit`` | $('{0:0}' -f $m.Bare) ms | | | |
| same with ``Import-Module Kubestead`` | $('{0:0}' -f $m.ImportedProcess) ms | | | |
| Import-Module over a bare start (difference of the two) | $('{0:0}' -f $importOverBare) ms | | <= 150 ms | $(Verdict ($importOverBare -le 150)) |
| Import-Module, timed inside pwsh | $('{0:0}' -f $m.ImportWall) ms | $('{0:0}' -f $m.ImportCpu) ms | | |
| first ``Get-KubesteadRollout -Namespace $Namespace`` | $('{0:0}' -f $m.FirstWall) ms | $('{0:0}' -f $m.FirstCpu) ms | <= 400 ms | $(Verdict ($m.FirstWall -le 400)) |
| warm ``Get-KubesteadRollout`` (same session) | $('{0:0.0}' -f $warmMedian) ms | $('{0:0.0}' -f $m.WarmCpu) ms | <= 1.5x curl | $(Verdict ($warmMedian -le 1.5 * $curl)) |
| curl, same LIST, CA and token (process start included) | $('{0:0.0}' -f $curl) ms | | | |
| warm cmdlet / curl | $('{0:0.00}' -f ($warmMedian / $curl))x | | <= 1.5x | |

The first cmdlet includes loading Kubestead.Core and its dependencies into the module's private load context, reading
the kubeconfig, TLS set-up and one LIST of ConfigMaps. The warm cmdlet reuses the session's connection (the kubeconfig
is checked for changes each time: path, size, timestamp and SHA-256).
"@
$md | Set-Content $Out
$md
