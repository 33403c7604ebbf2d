#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Run by build.ps1 -Task Test when pwsh and Pester 5 exist. Needs the staged module (out/Kubestead) and the kubestead
# CLI (on PATH or $env:KUBESTEAD_CLI) for the sandbox; tests that need the sandbox are skipped with a reason otherwise.

BeforeDiscovery {
    $script:root = Resolve-Path "$PSScriptRoot/../.."
    $script:cli = $env:KUBESTEAD_CLI ?? (Get-Command kubestead -ErrorAction SilentlyContinue)?.Source
    if (-not $script:cli -and (Test-Path "$script:root/src/Kubestead.Cli/bin/Debug/net8.0/kubestead.dll")) {
        $wrapper = Join-Path ([IO.Path]::GetTempPath()) 'kubestead-cli-wrapper.sh'
        Set-Content $wrapper "#!/bin/sh`nexec dotnet '$script:root/src/Kubestead.Cli/bin/Debug/net8.0/kubestead.dll' `"`$@`""
        if (-not $IsWindows) { chmod +x $wrapper }
        $script:cli = $wrapper
    }
    $script:haveCli = [bool]$script:cli
}

BeforeAll {
    $root = Resolve-Path "$PSScriptRoot/../.."
    Import-Module "$root/out/Kubestead/Kubestead.psd1" -Force
}

Describe 'Module surface' {
    It 'exports the cmdlets of the manifest' {
        $exported = (Get-Module Kubestead).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Contain 'Start-KubesteadRollout'
        $exported | Should -Contain 'Set-CanaryWeight'
        $exported.Count | Should -Be 18
    }

    It 'has help with examples for every cmdlet' {
        foreach ($c in (Get-Module Kubestead).ExportedCmdlets.Keys) {
            (Get-Help $c -Examples).examples.example.Count | Should -BeGreaterOrEqual 2 -Because $c
        }
    }

    It 'plans a split without a cluster' {
        $plan = Get-CanarySplitPlan 1 -RequestsPerSecond 2 -Window '00:05:00'
        $plan.EmptyWindowProbability | Should -BeGreaterThan 0.29
        $plan.EmptyWindowProbability | Should -BeLessThan 0.31
    }

    It 'judges counts ad hoc' {
        $v = Get-CanaryAnalysis -CanaryRequests 1000 -CanaryFailures 60 -ControlRequests 100000 -ControlFailures 100
        $v.Outcome | Should -Be 'Fail'
    }

    It 'reports spec problems with file, line and field' {
        $spec = Join-Path $TestDrive 'bad.yaml'
        (Get-Content "$root/examples/istio.yaml" -Raw).Replace('setWeight: 5', 'setWeight: 500') | Set-Content $spec
        $checks = Test-KubesteadRollout $spec
        ($checks | Where-Object Outcome -eq 'Failed').Message | Should -Match 'spec\.steps\[1\]\.setWeight: 500 is out of range'
    }
}

Describe 'Against the sandbox' -Skip:(-not $script:haveCli) {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath $script:cli -Confirm:$false
        $spec = Join-Path $TestDrive 'shop.yaml'
        # The sandbox serves the cluster over HTTP; metrics there come from Prometheus, so this spec has no analysis.
        @'
apiVersion: kubestead.io/v1alpha1
kind: Rollout
metadata: { name: shop, namespace: shop }
spec:
  service: shop
  meshProvider: istio
  istio:
    virtualService: { name: shop, route: primary }
    destinationRule: { name: shop }
  stable: { deployment: shop }
  canary: { image: registry.example.com/shop:2.0.0 }
  steps:
    - setWeight: 10
    - pause: {}
'@ | Set-Content $spec
    }
    AfterAll { Stop-KubesteadSandbox -Confirm:$false }

    It 'writes nothing with -WhatIf' {
        Start-KubesteadRollout -Path $spec -WhatIf
        { Get-KubesteadRollout shop -Namespace shop -ErrorAction Stop } | Should -Throw -ErrorId 'RolloutNotFound,Kubestead.PowerShell.GetKubesteadRolloutCommand'
    }

    It 'starts, pipes by property name, and pauses for a person' {
        $r = Start-KubesteadRollout -Path $spec -Confirm:$false
        $r.Phase | Should -Be 'Paused'
        $r.PauseReason | Should -Be 'Manual'
        $w = Get-KubesteadRollout shop -Namespace shop | Get-CanaryWeight
        $w.CanaryWeightPercent | Should -Be 10
        Get-KubesteadRollout shop -Namespace shop | Set-CanaryWeight 20 -PassThru -Confirm:$false | Select-Object -ExpandProperty CanaryWeightPercent | Should -Be 20
    }

    It 'rolls back with -Force and no prompt in a non-interactive session' {
        $out = pwsh -NonInteractive -NoProfile -Command "Import-Module '$root/out/Kubestead/Kubestead.psd1'; (Stop-KubesteadRollout shop -Namespace shop -Force).Phase"
        $LASTEXITCODE | Should -Be 0
        $out | Should -Be 'Aborted'
    }

    It 'gives stable error ids with the object as target' {
        $err = $null
        Get-KubesteadRollout nope -Namespace shop -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RolloutNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Match 'kubestead-nope'
    }
}
