# Runs tests/pester with Pester 5.9.1 (from PSModulePath, set by tests/run-pester.sh) and prints
# "Pester: N passed, N failed". Exit code: 0 when nothing failed.
param([string[]] $Path = @("$PSScriptRoot"), [string[]] $FullName)
$ErrorActionPreference = 'Stop'
# pwsh -File passes "a.ps1,b.ps1" as one string: a comma-separated list names several files.
$Path = @($Path | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
Import-Module Pester -RequiredVersion 5.9.1
$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.Exit = $false
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.CIFormat = 'None'
if ($FullName) { $config.Filter.FullName = $FullName }
$result = Invoke-Pester -Configuration $config
# Where the time went, per file, slowest first: test.sh's log shows which file is the long pole (issue #33).
foreach ($c in $result.Containers | Sort-Object Duration -Descending) {
    "Pester file: {0,7:n1} s  {1}" -f $c.Duration.TotalSeconds, (Split-Path -Leaf "$($c.Item)")
}
# A container that failed to run (a BeforeAll that threw) counts its tests as failed, never as skipped.
$failed = $result.FailedCount + $result.FailedContainersCount
"Pester: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
if ($failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
exit 0
