#Requires -Version 7.4
# Issue #32: an approval gate round-trips through the cmdlets in a real pwsh against a sandbox cluster. Start pauses at
# the gate, Resume is refused there, Approve -WhatIf writes nothing, Approve records who, Wait drives to the end, and
# the history shows who approved and when.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $savedKubeconfig = $env:KUBECONFIG
    $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
    $spec = New-TestSpec -Path (Join-Path $TestDrive 'approval.yaml') -Steps 'setWeight: 20', 'approval: {}', 'setWeight: 40'
}

AfterAll {
    $sandbox | Stop-KubesteadSandbox -Confirm:$false
    $env:KUBECONFIG = $savedKubeconfig
}

# The Its run in order and share one rollout: each step of the round trip starts where the last one left it.
Describe 'An approval step through the cmdlets' {
    It 'pauses Start-KubesteadRollout at the gate and returns the paused rollout' {
        $r = Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue
        $r.Phase | Should -Be 'Paused'
        $r.Message | Should -Match 'waiting for approval'
        $r.CanaryWeight | Should -Be 20
        $r.Step | Should -Be 2
    }

    It 'refuses Resume-KubesteadRollout at a gate, naming Approve, and writes nothing' {
        $before = Get-ClusterFingerprint
        Resume-KubesteadRollout shop -Namespace shop -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        "$($errs[0])" | Should -Match 'approval gate'
        Get-ClusterFingerprint | Should -Be $before
        (Get-KubesteadRollout shop -Namespace shop).Message | Should -Match 'waiting for approval'
    }

    It 'writes nothing with Approve-KubesteadRollout -WhatIf, even with -Confirm:$false' {
        $before = Get-ClusterFingerprint
        Approve-KubesteadRollout shop -Namespace shop -ApprovedBy 'alice' -WhatIf -Confirm:$false
        Get-ClusterFingerprint | Should -Be $before
        $r = Get-KubesteadRollout shop -Namespace shop
        $r.Phase | Should -Be 'Paused'
        $r.Message | Should -Match 'waiting for approval'
        @(Get-KubesteadRolloutHistory shop -Namespace shop -EventsOnly | Where-Object Kind -eq 'approve').Count | Should -Be 0
    }

    It 'records the approval with Approve-KubesteadRollout -NoWait, and Wait-KubesteadRollout drives it to Completed' {
        $approvedAfter = [DateTimeOffset]::UtcNow.AddMinutes(-1)
        $a = Approve-KubesteadRollout shop -Namespace shop -ApprovedBy 'alice' -NoWait -Confirm:$false
        $a | Should -BeOfType Kubestead.PowerShell.KubesteadRollout
        $a.Message | Should -Not -Match 'waiting for approval'
        $w = Get-KubesteadRollout shop -Namespace shop | Wait-KubesteadRollout -Timeout 120
        $w.Phase | Should -Be 'Completed'
        $w.CanaryWeight | Should -Be 0
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty

        $approvals = @(Get-KubesteadRolloutHistory shop -Namespace shop -EventsOnly | Where-Object Kind -eq 'approve')
        $approvals.Count | Should -Be 1
        $approvals[0].Message | Should -Be 'step 2 approved by alice'
        # The sandbox's outside drivers run on wall time, so "when" is a real instant of this run.
        $approvals[0].At | Should -BeGreaterThan $approvedAfter
        $approvals[0].At | Should -BeLessOrEqual ([DateTimeOffset]::UtcNow.AddMinutes(1))
    }

    It 'refuses a second approval of the completed rollout' {
        { Approve-KubesteadRollout shop -Namespace shop -Confirm:$false -ErrorAction Stop } | Should -Throw -ExpectedMessage "*Completed*"
    }
}
