#Requires -Version 7.4
# The module as users get it: packaged, installed from the package folder with PSResourceGet, imported by name; and
# loaded beside other modules' older copies of its dependencies.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    $root = Get-TestRoot
    $modulePath = Get-TestModulePath
    # The isolation block starts a sandbox in this session: it needs the staged module here too. In the full run an
    # earlier file had imported it (Pester runs every file in one session), so the block only failed when run alone.
    # No -Force: re-importing would remove the module and so stop sandboxes other files still hold.
    Import-Module $modulePath
}

Describe 'Packaging' {
    It 'packs with build.ps1, installs with PSResourceGet from the package folder and imports by name in a clean pwsh' {
        # Under test.sh the module, the CLI and the native kubestead are built once, before this file runs (the native
        # publish alone is minutes of CPU): -NoBuild packs those outputs. Run alone, build.ps1 builds them itself.
        & (Join-Path $root 'build.ps1') -Task Package -Configuration Debug -NoBuild:([bool]$env:KUBESTEAD_PESTER_PREBUILT) 6>&1 | Out-Null
        $nupkg = Get-ChildItem (Join-Path $root 'out/packages') -Filter 'Kubestead.0.1.0.nupkg'
        $nupkg | Should -Not -BeNullOrEmpty
        Get-ChildItem (Join-Path $root 'out/packages') -Filter 'Kubestead.Cli.*.nupkg' | Should -Not -BeNullOrEmpty
        $repo = "KubesteadPester$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        $installed = Join-Path $TestDrive 'modules'
        New-Item -ItemType Directory $installed | Out-Null
        Register-PSResourceRepository -Name $repo -Uri (Join-Path $root 'out/packages') -Trusted
        try {
            Save-PSResource -Name Kubestead -Repository $repo -Path $installed -TrustRepository -Quiet
        } finally { Unregister-PSResourceRepository -Name $repo }
        Test-Path (Join-Path $installed 'Kubestead/0.1.0/Kubestead.psd1') | Should -BeTrue
        Test-Path (Join-Path $installed 'Kubestead/0.1.0/dependencies/Kubestead.Core.dll') | Should -BeTrue
        $r = Invoke-ChildPwsh "Import-Module Kubestead -ErrorAction Stop; (Get-Module Kubestead).ModuleBase; @(Get-Command -Module Kubestead).Count; (Get-CanarySplitPlan 10 -RequestsPerSecond 5).ExpectedCanaryRequests" -Environment @{ PSModulePath = $installed }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output -split "`n"
        $lines[0] | Should -BeLike "$installed*"
        # Every cmdlet the manifest exports arrives in the installed copy.
        $lines[1] | Should -Be ([string](Import-PowerShellDataFile (Join-Path $root 'module/Kubestead.psd1')).CmdletsToExport.Count)
        $lines[2] | Should -Be '30'
    }

    It 'puts the native kubestead beside the packages on Linux x64, and it runs' -Skip:(-not ($IsLinux -and [Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64')) {
        $native = Join-Path $root 'out/packages/linux-x64/kubestead'
        Test-Path $native | Should -BeTrue
        $version = & $native --version
        $LASTEXITCODE | Should -Be 0
        "$version" | Should -Match ([regex]::Escape((Import-PowerShellDataFile (Join-Path $root 'module/Kubestead.psd1')).ModuleVersion))
    }

    It 'refuses -NoBuild where nothing was built, naming what is missing, and packs nothing' {
        $bare = Join-Path $TestDrive 'bare'
        New-Item -ItemType Directory $bare | Out-Null
        Copy-Item (Join-Path $root 'build.ps1') $bare
        { & (Join-Path $bare 'build.ps1') -Task Package -NoBuild } | Should -Throw '*out/Kubestead/Kubestead.psd1 is missing*-Task Build*'
        Test-Path (Join-Path $bare 'out/packages') | Should -BeFalse
    }
}

Describe 'Isolation from other modules'' dependencies' {
    BeforeAll {
        $oldYaml = $env:KUBESTEAD_TEST_OLD_YAMLDOTNET
        $oldK8s = $env:KUBESTEAD_TEST_OLD_KUBERNETESCLIENT
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
    }
    AfterAll { $sandbox | Stop-KubesteadSandbox -Confirm:$false }

    It 'has the older dependencies to load first' {
        Test-Path $oldYaml | Should -BeTrue
        Test-Path $oldK8s | Should -BeTrue
    }

    It 'parses specs and talks to the cluster after YamlDotNet 13.1.1 and KubernetesClient 19.0.2 were loaded' {
        $script = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$oldYaml'
Add-Type -Path '$oldK8s'
Import-Module '$modulePath'
Test-KubesteadRollout '$root/examples/istio.yaml' -Quiet
@(Get-KubesteadRollout -Namespace shop).Count
(New-KubesteadRolloutSpec shop -Namespace shop) -match 'meshProvider: istio'
[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' } | ForEach-Object { `$_.GetName().Version.Major } | Sort-Object -Unique | Join-String -Separator ','
"@
        $r = Invoke-ChildPwsh $script -Environment @{ KUBECONFIG = $sandbox.KubeConfig }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output -split "`n"
        $lines[0] | Should -Be 'True'
        $lines[1] | Should -Be '0'
        $lines[2] | Should -Be 'True'
        $lines[3] | Should -Match '^13,\d+$' -Because 'both YamlDotNet versions are loaded side by side'
    }

    It 'leaves the default load context''s copy to the other module' {
        $script = @"
Add-Type -Path '$oldYaml'
Import-Module '$modulePath'
Test-KubesteadRollout '$root/examples/istio.yaml' -Quiet | Out-Null
`$default = [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' }
`$default.GetName().Version.Major
[System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'Kubestead.Dependencies' | ForEach-Object { `$_.Assemblies.GetName().Name } | Sort-Object | Join-String -Separator ','
"@
        $r = Invoke-ChildPwsh $script
        $lines = $r.Output -split "`n"
        $lines[0] | Should -Be '13'
        $lines[1] | Should -Match 'Kubestead\.Core'
        $lines[1] | Should -Match 'YamlDotNet'
    }
}
