#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, documents and packages the Kubestead module and CLI.
.DESCRIPTION
    Build   stages out/Kubestead/ from module/ plus the compiled assemblies (fails if an expected file is missing).
    Test    runs the README's test command (./test.sh): every xUnit project, then tests/pester in pwsh 7.6.9 with Pester 5.9.1.
    Docs    turns docs/en-US/*.md into the module's MAML help (Kubestead.dll-Help.xml) and about_*.help.txt.
    Package packs the staged module into out/packages/Kubestead.<version>.nupkg (PowerShell Gallery layout, installable
            with PSResourceGet from that folder) and the CLI as a dotnet tool beside it.
            With -NoBuild it packs what is already built instead (the staged out/Kubestead/, the CLI's build output
            and out/native/publish/kubestead): test.sh builds each once and its packaging test packs them.
    Native  publishes the Native AOT kubestead for linux-x64 to out/native/publish/kubestead (build/native-publish.sh;
            docs/native.md). Package runs it too on Linux x64 and copies the binary to out/packages/linux-x64/.
    Without pwsh, the same staging is: dotnet build src/Kubestead.PowerShell -t:StageModule
.EXAMPLE
    ./build.ps1 -Task Build, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Docs', 'Package', 'Native')]
    [string[]] $Task = @('Build', 'Test'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',
    # Package only: pack the outputs already built (by Build, Native or test.sh) instead of building them again.
    [switch] $NoBuild
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
        'Native' {
            Invoke-Native 'native publish' { bash (Join-Path $root 'build/native-publish.sh') $Configuration }
        }
        'Test' {
            # The README's test command: xUnit, the real kube-apiserver suites and Pester in pwsh 7.6.9.
            Invoke-Native 'tests' { bash (Join-Path $root 'test.sh') }
        }
        'Package' {
            $staged = Join-Path $root 'out/Kubestead/Kubestead.psd1'
            $native = Join-Path $root 'out/native/publish/kubestead'
            $withNative = $IsLinux -and [Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64'
            if ($NoBuild) {
                if (-not (Test-Path $staged)) { throw "-NoBuild packs the staged module, but $staged is missing: run -Task Build first" }
                if ($withNative -and -not (Test-Path $native)) { throw "-NoBuild packs the published native kubestead, but $native is missing: run -Task Native first" }
            } else {
                Invoke-Native 'module staging' { dotnet build "$root/src/Kubestead.PowerShell" -c $Configuration -t:StageModule }
            }
            $pkgDir = Join-Path $root 'out/packages'
            New-Item -ItemType Directory -Force -Path $pkgDir | Out-Null
            $packArgs = @("$root/src/Kubestead.Cli", '-c', $Configuration, '-o', $pkgDir) + @(if ($NoBuild) { '--no-build' })
            Invoke-Native 'CLI pack' { dotnet pack @packArgs }
            if ($withNative) {
                if (-not $NoBuild) { Invoke-Native 'native publish' { bash (Join-Path $root 'build/native-publish.sh') $Configuration } }
                New-Item -ItemType Directory -Force -Path (Join-Path $pkgDir 'linux-x64') | Out-Null
                Copy-Item $native (Join-Path $pkgDir 'linux-x64/kubestead') -Force
            }
            # A repository registered only for this publish: the user's PSResourceGet settings stay as they were.
            $repo = "KubesteadBuild$([guid]::NewGuid().ToString('N').Substring(0, 8))"
            Register-PSResourceRepository -Name $repo -Uri $pkgDir -Trusted
            try {
                Get-ChildItem $pkgDir -Filter 'Kubestead.*.nupkg' | Where-Object Name -NotLike 'Kubestead.Cli.*' | Remove-Item
                Publish-PSResource -Path (Join-Path $root 'out/Kubestead') -Repository $repo -SkipDependenciesCheck
            } finally {
                Unregister-PSResourceRepository -Name $repo
            }
            Write-Host "Packages in $pkgDir"
        }
    }
}
