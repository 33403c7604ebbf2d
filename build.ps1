#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, documents and packages the Kubestead module and CLI.
.DESCRIPTION
    Build   stages out/Kubestead/ from module/ plus the compiled assemblies (fails if an expected file is missing).
    Test    runs every xUnit project, then the Pester tests in tests/pester when Pester 5 is installed.
    Docs    turns docs/en-US/*.md into the module's MAML help (Kubestead.dll-Help.xml) and about_*.help.txt.
    Package packs the staged module into a .nupkg (PowerShell Gallery layout) and the CLI as a dotnet tool.
    Without pwsh, the same staging is: dotnet build src/Kubestead.PowerShell -t:StageModule
.EXAMPLE
    ./build.ps1 -Task Build, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Docs', 'Package')]
    [string[]] $Task = @('Build', 'Test'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot

function Invoke-Native([string] $what, [scriptblock] $command) {
    & $command
    if ($LASTEXITCODE -ne 0) { throw "$what failed with exit code $LASTEXITCODE" }
}

foreach ($t in $Task) {
    switch ($t) {
        'Docs' {
            Invoke-Native 'help generation' { dotnet build "$root/src/Kubestead.PowerShell" -c $Configuration -t:GenerateHelp }
        }
        'Build' {
            Invoke-Native 'module staging' { dotnet build "$root/src/Kubestead.PowerShell" -c $Configuration -t:StageModule }
            Invoke-Native 'solution build' { dotnet build "$root/Kubestead.PowerShell.sln" -c $Configuration }
        }
        'Test' {
            Invoke-Native 'xUnit tests' { dotnet test "$root/Kubestead.PowerShell.sln" -c $Configuration }
            $pester = Get-Module -ListAvailable Pester | Where-Object Version -GE '5.0.0' | Select-Object -First 1
            if ($null -eq $pester) {
                Write-Warning 'Pester 5 is not installed: skipping tests/pester (Install-Module Pester -MinimumVersion 5.0).'
            } else {
                if (-not (Test-Path "$root/out/Kubestead/Kubestead.psd1")) {
                    Invoke-Native 'module staging' { dotnet build "$root/src/Kubestead.PowerShell" -c $Configuration -t:StageModule }
                }
                Import-Module $pester
                $config = New-PesterConfiguration
                $config.Run.Path = "$root/tests/pester"
                $config.Run.Exit = $false
                $config.Run.PassThru = $true
                $config.Output.Verbosity = 'Detailed'
                $result = Invoke-Pester -Configuration $config
                if ($result.FailedCount -gt 0) { throw "$($result.FailedCount) Pester test(s) failed" }
            }
        }
        'Package' {
            Invoke-Native 'module staging' { dotnet build "$root/src/Kubestead.PowerShell" -c Release -t:StageModule }
            $pkgDir = Join-Path $root 'out/packages'
            New-Item -ItemType Directory -Force -Path $pkgDir | Out-Null
            Invoke-Native 'CLI pack' { dotnet pack "$root/src/Kubestead.Cli" -c Release -o $pkgDir }
            $repo = 'KubesteadLocal'
            if (-not (Get-PSResourceRepository -Name $repo -ErrorAction SilentlyContinue)) {
                Register-PSResourceRepository -Name $repo -Uri $pkgDir -Trusted
            }
            Publish-PSResource -Path (Join-Path $root 'out/Kubestead') -Repository $repo
        }
    }
}
