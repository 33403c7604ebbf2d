#Requires -Version 7.4
# Start-KubesteadRollout -Detach: the rollout is recorded and handed to a `kubestead controller` (a real child process
# here), and refused, writing nothing, when no controller's heartbeat serves the namespace (as `start --detach`).
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $savedKubeconfig = $env:KUBECONFIG
    $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
    # Two weight steps and no pause: a controller drives it to Completed on its own.
    $spec = New-TestSpec -Path (Join-Path $TestDrive 'detached.yaml') -Steps 'setWeight: 10', 'setWeight: 50'
    $script:controller = $null
}

AfterAll {
    if ($script:controller -and -not $script:controller.HasExited) { $script:controller.Kill(); $script:controller.WaitForExit(10000) | Out-Null }
    $sandbox | Stop-KubesteadSandbox -Confirm:$false
    $env:KUBECONFIG = $savedKubeconfig
}

Describe 'Start-KubesteadRollout -Detach' {
    It 'is refused with NoLiveController when no controller is live, and writes nothing (-WhatIf too)' {
        $before = Get-ClusterFingerprint
        { Start-KubesteadRollout $spec -Detach -ControllerNamespace shop -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NoLiveController,Kubestead.PowerShell.StartKubesteadRolloutCommand'
        { Start-KubesteadRollout $spec -Detach -ControllerNamespace shop -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'NoLiveController,Kubestead.PowerShell.StartKubesteadRolloutCommand'
        Get-ClusterFingerprint | Should -Be $before
        Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'words the refusal for PowerShell (-Detach, -ControllerNamespace; no CLI flags) with a RecommendedAction (issue #27 item 8)' {
        Start-KubesteadRollout $spec -Detach -ControllerNamespace shop -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $text = "$($errs[0])"
        $text | Should -Match 'without -Detach'
        $text | Should -Match 'with -ControllerNamespace'
        $text | Should -Not -Match '--detach|--controller-namespace'
        $errs[0].ErrorDetails.RecommendedAction | Should -Match '-ControllerNamespace'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'is refused when the only live controller serves other namespaces' {
        $script:controller = Start-Process dotnet -PassThru -RedirectStandardOutput (Join-Path $TestDrive 'other.log') -RedirectStandardError (Join-Path $TestDrive 'other.err') -ArgumentList @(
            (Get-TestCliPath), 'controller', '--kubeconfig', $env:KUBECONFIG, '--home-namespace', 'shop', '--watch-namespace', 'elsewhere', '--replica', 'other')
        Wait-Until { Get-SandboxObject '/apis/coordination.k8s.io/v1/namespaces/shop/leases/kubestead-controller-other' } | Should -BeTrue
        { Start-KubesteadRollout $spec -Detach -ControllerNamespace shop -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NoLiveController,Kubestead.PowerShell.StartKubesteadRolloutCommand'
        Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $script:controller.Kill(); $script:controller.WaitForExit(10000) | Out-Null
    }

    It 'hands the rollout to a live controller and returns at once; the controller completes it' {
        $script:controller = Start-Process dotnet -PassThru -RedirectStandardOutput (Join-Path $TestDrive 'controller.log') -RedirectStandardError (Join-Path $TestDrive 'controller.err') -ArgumentList @(
            (Get-TestCliPath), 'controller', '--kubeconfig', $env:KUBECONFIG, '--home-namespace', 'shop', '--replica', 'pester')
        Wait-Until { Get-SandboxObject '/apis/coordination.k8s.io/v1/namespaces/shop/leases/kubestead-controller-pester' } | Should -BeTrue

        $r = Start-KubesteadRollout $spec -Detach -ControllerNamespace shop -Confirm:$false
        $r | Should -BeOfType Kubestead.PowerShell.KubesteadRollout
        $r.Phase | Should -Not -Be 'Completed' -Because 'a detached start returns once the rollout is recorded and handed over'
        $state = Get-SandboxObject '/api/v1/namespaces/shop/configmaps/kubestead-shop'
        $state.metadata.labels.'kubestead.io/driver' | Should -Be 'controller'
        Wait-Until { (Get-KubesteadRollout shop -Namespace shop).Phase -eq 'Completed' } -TimeoutSeconds 90 | Should -BeTrue -Because (Get-Content -Raw (Join-Path $TestDrive 'controller.log'))
        (Get-KubesteadRollout shop -Namespace shop).CanaryWeight | Should -Be 0
    }
}
