#Requires -Version 7.4
# What must never happen, and CI semantics (issue #17), against a live istio sandbox.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    $modulePath = Get-TestModulePath
    Import-Module $modulePath -Force
    $savedKubeconfig = $env:KUBECONFIG
    $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
    # Fresh specs (with a new image each) for every test: a promoted image would make start say "already at this version".
    function New-SafetySpecs {
        $script:manual = New-TestSpec -Path (Join-Path $TestDrive "manual-$(Get-Random).yaml")
        $script:stepped = New-TestSpec -Path (Join-Path $TestDrive "stepped-$(Get-Random).yaml") -Steps 'setWeight: 5', 'pause: { duration: 3s }', 'setWeight: 10', 'pause: { duration: 3s }', 'setWeight: 20', 'pause: {}'
        $script:quick = New-TestSpec -Path (Join-Path $TestDrive "quick-$(Get-Random).yaml") -Steps 'setWeight: 10', 'pause: { duration: 1s }', 'setWeight: 50', 'pause: { duration: 1s }'
    }
    New-SafetySpecs

    # Ends whatever rollout of shop is running, so each test starts from a clean slate.
    function Reset-Shop {
        $r = Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue
        # A plain stop: the canary then drains for scaleDownDelay, and the next start finishes that clean-up itself.
        if ($r -and $r.Phase -notin 'Completed', 'Aborted', 'Failed') { Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null }
    }

    # The rollout must not move once the cmdlet has returned: same step, same weight, same update time 5 s later.
    function Assert-NoHiddenDriver {
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty -Because 'the Lease is released when the cmdlet returns'
        $before = Get-KubesteadRollout shop -Namespace shop
        Start-Sleep -Seconds 5
        $after = Get-KubesteadRollout shop -Namespace shop
        $after.Step | Should -Be $before.Step
        $after.CanaryWeight | Should -Be $before.CanaryWeight
        $after.UpdatedAt | Should -Be $before.UpdatedAt
        $after.Phase | Should -Be 'Progressing' -Because 'a stopped driver leaves the rollout resumable'
    }
}

AfterAll {
    $sandbox | Stop-KubesteadSandbox -Confirm:$false
    $env:KUBECONFIG = $savedKubeconfig
}

Describe 'A stopped pipeline leaves no driver behind' {
    BeforeEach { New-SafetySpecs; Reset-Shop }

    It 'when Select-Object -First stops it' {
        Start-KubesteadRollout $stepped -Confirm:$false -Verbose 4>&1 | Where-Object { "$_" -match 'traffic: stable' } | Select-Object -First 1 | Out-Null
        Assert-NoHiddenDriver
    }

    It 'when a downstream command fails' {
        { Start-KubesteadRollout $stepped -Confirm:$false -Verbose 4>&1 | ForEach-Object { if ("$_" -match 'traffic: stable') { throw 'downstream failed' } } } |
            Should -Throw -ExpectedMessage 'downstream failed'
        Assert-NoHiddenDriver
    }

    It 'when -WarningAction Stop turns a warning into a stop' {
        { Start-KubesteadRollout $stepped -Confirm:$false -WarningAction Stop } | Should -Throw
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty
        $r = Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue
        if ($r) { $r.Phase | Should -BeIn 'Progressing', 'Paused' }
    }

    It 'when a thread job driving it is stopped, and Resume then finishes it' {
        $job = Start-ThreadJob {
            Import-Module $using:modulePath
            Start-KubesteadRollout $using:stepped -Confirm:$false -WarningAction SilentlyContinue
        }
        $deadline = (Get-Date).AddSeconds(60)
        while ((Get-Date) -lt $deadline -and -not ((Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue).CanaryWeight -ge 5)) { Start-Sleep -Milliseconds 200 }
        Stop-Job $job
        Remove-Job $job -Force
        Assert-NoHiddenDriver
        Get-SandboxObject '/apis/apps/v1/namespaces/shop/deployments/shop-canary' | Should -Not -BeNullOrEmpty -Because 'the canary stays while the rollout is resumable'
        $r = Resume-KubesteadRollout shop -Namespace shop -Confirm:$false -WarningAction SilentlyContinue
        $r.Phase | Should -Be 'Paused' -Because 'the last step waits for a person'
        $r.CanaryWeight | Should -Be 20
        (Complete-KubesteadRollout shop -Namespace shop -Force).Phase | Should -Be 'Completed'
        Get-SandboxObject '/apis/apps/v1/namespaces/shop/deployments/shop-canary' | Should -BeNullOrEmpty -Because 'no orphaned canary'
    }
}

Describe '-WhatIf and -Confirm always win over -Force' {
    BeforeEach { New-SafetySpecs }
    BeforeAll {
        New-SafetySpecs
        Reset-Shop
        Start-KubesteadRollout $manual -Confirm:$false -WarningAction SilentlyContinue | Out-Null
    }

    It 'does not abort under $WhatIfPreference with -Force' {
        $before = Get-ClusterFingerprint
        $WhatIfPreference = $true
        try { Stop-KubesteadRollout shop -Namespace shop -Force } finally { $WhatIfPreference = $false }
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'does not promote under -WhatIf with -Force -NoWait' {
        $before = Get-ClusterFingerprint
        Complete-KubesteadRollout shop -Namespace shop -Force -NoWait -WhatIf
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'asks under -Force -Confirm (and so fails clearly where it cannot ask)' {
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; Stop-KubesteadRollout shop -Namespace shop -Force -Confirm" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'needs a confirmation'
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
    }

    It 'fails fast without -Force in a non-interactive session, naming -Force, writing nothing' {
        $before = Get-ClusterFingerprint
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; Stop-KubesteadRollout shop -Namespace shop" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match '-Force'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'needs -Force or -Confirm:$false for 100%, like abort and promote' {
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; Set-CanaryWeight shop 100 -Namespace shop" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.Output | Should -Match '-Force'
        (Get-CanaryWeight shop -Namespace shop).CanaryWeightPercent | Should -Be 10
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; (Set-CanaryWeight shop 100 -Namespace shop -Confirm:`$false -PassThru).CanaryWeightPercent" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Be '100'
    }

    It 'plans no abort for a rollout already aborted, and the real call writes nothing either' {
        Reset-Shop
        Start-KubesteadRollout $manual -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null
        $before = Get-ClusterFingerprint
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; Stop-KubesteadRollout shop -Namespace shop -WhatIf; 'phase=' + (Stop-KubesteadRollout shop -Namespace shop -Force).Phase" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match '(?s)What if:.*already Aborted and cleaned up: nothing to abort'
        $r.Output | Should -Not -Match 'record phase Aborted|virtualservices'
        $r.Output | Should -Match 'WARNING: .*nothing to abort'
        $r.Output | Should -Match 'phase=Aborted'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'lists every write of a start once, including the previous record and the Lease' {
        Reset-Shop
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; Start-KubesteadRollout '$manual' -WhatIf" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        ([regex]::Matches($r.Output, 'What if:')).Count | Should -Be 1
        $r.Output | Should -Match 'delete configmaps/kubestead-shop'
        $r.Output | Should -Match '(create|update) leases\.coordination\.k8s\.io/kubestead-shop'
        $r.Output | Should -Match 'create deployments\.apps/shop-canary'
    }

    It 'does not drive a rollout under Wait -WhatIf' {
        Reset-Shop
        Start-KubesteadRollout $quick -NoWait -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        $before = Get-ClusterFingerprint
        $w = Wait-KubesteadRollout shop -Namespace shop -WhatIf
        $w.Phase | Should -Be 'Progressing'
        Get-ClusterFingerprint | Should -Be $before
    }
}

Describe 'Outcomes a CI step can rely on' {
    BeforeEach { New-SafetySpecs; Reset-Shop }

    It 'exits 0 from pwsh -File for a rollout that completes' {
        $ci = Join-Path $TestDrive 'ci-ok.ps1'
        @"
`$ErrorActionPreference = 'Stop'
trap { exit (`$_.Exception -is [Kubestead.PowerShell.KubesteadRolloutOutcomeException] ? `$_.Exception.ExitCode : 1) }
Import-Module '$modulePath'
`$r = Start-KubesteadRollout '$quick' -Confirm:`$false -WarningAction SilentlyContinue -ErrorOnPause
"phase=`$(`$r.Phase)"
"@ | Set-Content $ci
        $r = Invoke-ChildPwsh $ci -File -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'phase=Completed'
    }

    It 'fails the step with exit code 3 for a rolled-back rollout, with a stable error id' {
        Start-KubesteadRollout $manual -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null
        $ci = Join-Path $TestDrive 'ci-rolled-back.ps1'
        @"
`$ErrorActionPreference = 'Stop'
trap { [Console]::Out.WriteLine("id=`$(`$_.FullyQualifiedErrorId)"); [Console]::Out.Flush(); exit (`$_.Exception -is [Kubestead.PowerShell.KubesteadRolloutOutcomeException] ? `$_.Exception.ExitCode : 1) }
Import-Module '$modulePath'
Wait-KubesteadRollout shop -Namespace shop
'not reached'
"@ | Set-Content $ci
        $r = Invoke-ChildPwsh $ci -File -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Be 3 -Because $r.Output
        $r.Output | Should -Match 'id=RolloutRolledBack,'
        $r.Output | Should -Not -Match 'not reached'
    }

    It 'fails a plain pwsh -File step (no trap) for a rolled-back rollout' {
        Start-KubesteadRollout $manual -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null
        $ci = Join-Path $TestDrive 'ci-plain.ps1'
        "`$ErrorActionPreference = 'Stop'; Import-Module '$modulePath'; Wait-KubesteadRollout shop -Namespace shop | Out-Null" | Set-Content $ci
        (Invoke-ChildPwsh $ci -File -Environment @{ KUBECONFIG = $env:KUBECONFIG }).ExitCode | Should -Not -Be 0
    }

    It 'warns for a pause, and with -ErrorOnPause fails the step with exit code 4' {
        $r = Start-KubesteadRollout $manual -Confirm:$false -WarningVariable warns -WarningAction SilentlyContinue
        $r.Phase | Should -Be 'Paused'
        ($warns -join "`n") | Should -Match 'is paused \(Manual\)'
        $ci = Join-Path $TestDrive 'ci-paused.ps1'
        @"
`$ErrorActionPreference = 'Stop'
trap { exit (`$_.Exception -is [Kubestead.PowerShell.KubesteadRolloutOutcomeException] ? `$_.Exception.ExitCode : 1) }
Import-Module '$modulePath'
Wait-KubesteadRollout shop -Namespace shop -ErrorOnPause
"@ | Set-Content $ci
        (Invoke-ChildPwsh $ci -File -Environment @{ KUBECONFIG = $env:KUBECONFIG }).ExitCode | Should -Be 4
    }

    It 'reads -Timeout 5 as five seconds and reports the timeout as an error' {
        $slow = New-TestSpec -Path (Join-Path $TestDrive 'slow.yaml') -Steps 'setWeight: 10', 'pause: { duration: 1h }'
        Start-KubesteadRollout $slow -NoWait -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = Wait-KubesteadRollout shop -Namespace shop -Timeout 5 -ErrorVariable errs -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeGreaterThan 4.5
        $r.Phase | Should -Be 'Progressing'
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'RolloutWaitTimeout,*'
        $errs[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $errs[0].Exception.ExitCode | Should -Be 5
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty
    }
}

Describe 'Per-input failures and error records' {
    BeforeAll { Reset-Shop }
    BeforeEach { New-SafetySpecs }

    It 'writes a non-terminating error for a Get of a rollout that does not exist, and goes on' {
        Start-KubesteadRollout $manual -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        $out = 'nope', 'shop' | ForEach-Object { [pscustomobject]@{ Name = $_; Namespace = 'shop' } } |
            Get-KubesteadRollout -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out).Name | Should -Be @('shop')
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'RolloutNotFound,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -BeExactly 'nope' -Because 'the target is the input (issue #27 item 9)'
        "$($errs[0])" | Should -Match 'kubestead-nope'
        { Get-KubesteadRollout nope -Namespace shop -ErrorAction SilentlyContinue } | Should -Not -Throw
    }

    It 'goes on to the next rollout when one cannot be suspended' {
        (Complete-KubesteadRollout shop -Namespace shop -Force).Phase | Should -Be 'Completed'
        $live = New-TestSpec -Path (Join-Path $TestDrive 'live.yaml') -Name 'shop-live' -Steps 'setWeight: 10', 'pause: { duration: 1h }'
        Start-KubesteadRollout $live -NoWait -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        try {
            $out = Get-KubesteadRollout -Namespace shop | Suspend-KubesteadRollout -Confirm:$false -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue
            @($out).Name | Should -Be @('shop-live')
            @($out)[0].Phase | Should -Be 'Paused'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'RolloutNotActive,*'
            $errs[0].TargetObject | Should -BeExactly 'shop' -Because 'the target is the name bound from the piped rollout (issue #27 item 9)'
            "$($errs[0])" | Should -Match "Rollout 'shop' is Completed and cannot be paused"
        } finally { Stop-KubesteadRollout shop-live -Namespace shop -Force | Out-Null }
    }

    It 'names the field of an invalid spec with category InvalidArgument' {
        $bad = Join-Path $TestDrive 'invalid.yaml'
        (Get-Content $manual -Raw) -replace 'setWeight: 10', 'setWeight: 120' | Set-Content $bad
        Start-KubesteadRollout $bad -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errs[0].Exception.Message | Should -Match 'setWeight'
    }

    It 'refuses a start of another version while the rollout runs (conflict)' {
        Reset-Shop
        Start-KubesteadRollout $manual -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        $other = New-TestSpec -Path (Join-Path $TestDrive 'other.yaml') -Image 'registry.example.com/shop:7.0.0'
        Start-KubesteadRollout $other -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'RolloutRunningAnotherVersion,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
    }

    It 'terminates with ConnectionError when the cluster is unreachable' {
        $kc = Join-Path $TestDrive 'down.yaml'
        @'
apiVersion: v1
kind: Config
clusters:
- name: down
  cluster:
    server: http://127.0.0.1:9
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: down
  context:
    cluster: down
    user: u
    namespace: shop
current-context: down
'@ | Set-Content $kc
        $err = $null
        try { Get-KubesteadRollout shop -KubeConfig $kc -ErrorAction SilentlyContinue } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty -Because 'no input can succeed without a cluster, so the error terminates'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        "$err" | Should -Not -Match 'not-a-real-token'
    }

    It 'detects the mesh for Start -Name -Image as New-KubesteadRolloutSpec does' {
        Reset-Shop
        $r = Start-KubesteadRollout -Name shop -Namespace shop -Image registry.example.com/shop:9.9.9 -NoWait -Confirm:$false -WarningAction SilentlyContinue
        $r.MeshProvider | Should -Be 'istio'
        # A generated spec keeps the default scaleDownDelay (30 s): the next start waits out the clean-up itself.
        Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null
    }
}

Describe 'Sandbox lifetime' {
    BeforeAll { $outer = $env:KUBECONFIG }
    AfterEach { $env:KUBECONFIG = $outer }

    It 'restores KUBECONFIG on stop instead of clearing it, across two sandboxes' {
        $a = Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath)
        $b = Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath)
        $env:KUBECONFIG | Should -Be $b.KubeConfig
        $b | Stop-KubesteadSandbox
        $env:KUBECONFIG | Should -Be $a.KubeConfig
        $a | Stop-KubesteadSandbox
        $env:KUBECONFIG | Should -Be $outer
        Get-Process -Id $a.ProcessId, $b.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path $a.KubeConfig | Should -BeFalse
        Test-Path $b.KubeConfig | Should -BeFalse
    }

    It 'finds a sandbox started inside a function' {
        function Start-Inside { Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath) }
        $s = Start-Inside
        Stop-KubesteadSandbox -WarningVariable w
        $w | Should -BeNullOrEmpty
        Get-Process -Id $s.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'runs the sandbox in a session of its own, out of reach of a terminal Ctrl+C' {
        $s = Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath)
        try {
            $mine = (Get-Content "/proc/$PID/stat").Split(' ')[5]
            $its = (Get-Content "/proc/$($s.ProcessId)/stat").Split(' ')[5]
            $its | Should -Not -Be $mine
            $its | Should -Be "$($s.ProcessId)" -Because 'the sandbox leads its own session'
        } finally { $s | Stop-KubesteadSandbox }
    }

    It 'keeps sandboxes and KUBECONFIG through Import-Module -Force and Remove-Module (warning), until an explicit Stop' {
        # A session that had a real cluster configured must never be switched back to it by an implicit clean-up.
        $script = Join-Path $TestDrive 'reload.ps1'
        @"
`$env:KUBECONFIG = '/tmp/kubestead-test-real-cluster.yaml'
Import-Module '$modulePath'
`$s = Start-KubesteadSandbox -MeshProvider none -CliPath '$(Get-TestCliPath)'
Import-Module '$modulePath' -Force
"force: `$(`$env:KUBECONFIG -eq `$s.KubeConfig) `$([bool](Get-Process -Id `$s.ProcessId -ErrorAction Ignore))"
Remove-Module Kubestead
"remove: `$(`$env:KUBECONFIG -eq `$s.KubeConfig) `$([bool](Get-Process -Id `$s.ProcessId -ErrorAction Ignore))"
Import-Module '$modulePath'
Stop-KubesteadSandbox -All
"stop: `$env:KUBECONFIG `$([bool](Get-Process -Id `$s.ProcessId -ErrorAction Ignore)) `$(Test-Path `$s.KubeConfig)"
"@ | Set-Content $script
        $r = Invoke-ChildPwsh $script -File
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'force: True True'
        $r.Output | Should -Match 'WARNING: Kubestead was removed; its sandbox\(es\) keep running.*process \d+ \(none, kubeconfig /\S+kubestead-sandbox-'
        $r.Output | Should -Match 'remove: True True'
        $r.Output | Should -Match 'stop: /tmp/kubestead-test-real-cluster.yaml False False'
    }

    It 'has no hidden parameter that stops sandboxes past -WhatIf' {
        (Get-Command Stop-KubesteadSandbox).Parameters.Keys | Should -Not -Contain 'StartedInThisRunspace'
        (Get-Command Stop-KubesteadSandbox).ParameterSets.Name | Should -Be @('Newest', 'Process', 'All')
    }

    It 'stops sandboxes when PowerShell exits' {
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; `$s = Start-KubesteadSandbox -MeshProvider none -CliPath '$(Get-TestCliPath)'; `$s.ProcessId; `$s.KubeConfig"
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output -split "`n" | Where-Object { $_ }
        Start-Sleep -Milliseconds 500
        Get-Process -Id ([int]$lines[0]) -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path $lines[1] | Should -BeFalse
    }

    It 'stops a sandbox whose PowerShell was killed with SIGKILL (the sandbox reads EOF on stdin)' {
        $p = Start-ChildPwsh "Import-Module '$modulePath'; `$s = Start-KubesteadSandbox -MeshProvider none -CliPath '$(Get-TestCliPath)'; [Console]::Out.WriteLine(`"`$(`$s.ProcessId) `$(`$s.KubeConfig)`"); [Console]::Out.Flush(); Start-Sleep -Seconds 600"
        try {
            $read = $p.StandardOutput.ReadLineAsync()
            $read.Wait(120000) | Should -BeTrue -Because 'the child prints its sandbox once started'
            $sandboxPid, $kubeconfig = $read.Result -split ' '
            Test-Path $kubeconfig | Should -BeTrue
            $p.Kill()
            $p.WaitForExit()
            Wait-Until { -not (Get-Process -Id ([int]$sandboxPid) -ErrorAction Ignore) } -TimeoutSeconds 30 | Should -BeTrue -Because 'a sandbox must not outlive the PowerShell that started it'
            Test-Path $kubeconfig | Should -BeFalse
        } finally { if (-not $p.HasExited) { $p.Kill() } }
    }

    It 'runs one sandbox per parallel runspace with -NoEnvironment, leaving KUBECONFIG alone, each stopped with its runspace' {
        $cli = Get-TestCliPath
        $seen = 'none', 'smi' | ForEach-Object -ThrottleLimit 2 -Parallel {
            Import-Module $using:modulePath
            $sb = Start-KubesteadSandbox -MeshProvider $_ -CliPath $using:cli -NoEnvironment
            Get-KubesteadRollout -Namespace shop -KubeConfig $sb.KubeConfig -ErrorAction Stop | Out-Null
            [pscustomobject]@{ Sandbox = $sb; KubeConfigInRunspace = $env:KUBECONFIG }
        }
        $seen | Should -HaveCount 2
        $env:KUBECONFIG | Should -Be $outer
        $seen.KubeConfigInRunspace | ForEach-Object { $_ | Should -Be $outer }
        $seen[0].Sandbox.KubeConfig | Should -Not -Be $seen[1].Sandbox.KubeConfig
        foreach ($s in $seen.Sandbox) {
            Wait-Until { -not (Get-Process -Id $s.ProcessId -ErrorAction Ignore) } -TimeoutSeconds 30 | Should -BeTrue -Because 'a sandbox ends with the runspace that started it'
        }
    }

    It 'warns when KUBECONFIG already points at another running sandbox, naming it' {
        $a = Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath)
        try {
            $b = Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath) -WarningVariable w -WarningAction SilentlyContinue
            ($w -join "`n") | Should -Match "another running sandbox \(process $($a.ProcessId), none, .*-NoEnvironment"
            $b | Stop-KubesteadSandbox
            $c = Start-KubesteadSandbox -MeshProvider none -CliPath (Get-TestCliPath) -NoEnvironment -WarningVariable w2
            $w2 | Should -BeNullOrEmpty
            $env:KUBECONFIG | Should -Be $a.KubeConfig
            $c | Stop-KubesteadSandbox
            $env:KUBECONFIG | Should -Be $a.KubeConfig
        } finally { $a | Stop-KubesteadSandbox }
        $env:KUBECONFIG | Should -Be $outer
    }

    It 'resolves a relative -CliPath against the current location' {
        Push-Location (Split-Path (Get-TestCliPath))
        try {
            $s = Start-KubesteadSandbox -MeshProvider none -CliPath ./kubestead.dll
            $s.ProcessId | Should -BeGreaterThan 0
            $s | Stop-KubesteadSandbox
        } finally { Pop-Location }
    }

    It 'reports a CLI that exits at once with its exit code and stderr' {
        $fake = Join-Path $TestDrive 'fake-kubestead'
        "#!/bin/sh`necho 'sandbox: port in use' >&2`nexit 7" | Set-Content $fake
        chmod +x $fake
        { Start-KubesteadSandbox -CliPath $fake -ErrorAction Stop } | Should -Throw -ExpectedMessage '*code 7*port in use*'
        $env:KUBECONFIG | Should -Be $outer
    }
}

Describe 'A PowerShell ended by SIGTERM while driving' {
    It 'releases the rollout''s Lease and leaves it resumable, then exits' {
        $env:KUBECONFIG = $sandbox.KubeConfig # the file's sandbox, whatever the sandbox-lifetime tests left
        Reset-Shop
        $slow = New-TestSpec -Path (Join-Path $TestDrive "sigterm-$(Get-Random).yaml") -Steps 'setWeight: 10', 'pause: { duration: 1h }'
        $p = Start-ChildPwsh "Import-Module '$modulePath'; Start-KubesteadRollout '$slow' -Confirm:`$false" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        try {
            # Past the start (traffic moved to 10%), not merely holding the Lease: a SIGTERM during the start itself
            # rightly undoes the start and leaves no rollout (seen at high load).
            $driving = Wait-Until {
                $r = try { Get-KubesteadRollout shop -Namespace shop -ErrorAction Stop } catch { $null }
                (Get-RolloutLeaseHolder) -ne '' -and $null -ne $r -and $r.CanaryWeight -eq 10
            } -TimeoutSeconds 300 # the child may first finish the previous rollout's clean-up (scaleDownDelay 30 s) at load 100+
            if (-not $driving) {
                $state = try { Get-KubesteadRollout shop -Namespace shop -ErrorAction Stop | Out-String } catch { "$_" }
                if (-not $p.HasExited) { $p.Kill() }
                $driving | Should -BeTrue -Because "the child drives the rollout at 10%, holding its Lease (Lease holder '$(Get-RolloutLeaseHolder)'; rollout: $state; child printed: $($p.StandardOutput.ReadToEnd()))"
            }
            kill -TERM $p.Id
            $p.WaitForExit(60000) | Should -BeTrue
            $p.ExitCode | Should -Not -Be 0
            Get-RolloutLeaseHolder | Should -BeNullOrEmpty -Because 'the Lease is released before PowerShell exits'
            (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Progressing'
        } finally {
            if (-not $p.HasExited) { $p.Kill() }
            Reset-Shop
        }
    }
}

Describe 'A CI step judged from metrics: <Scenario> exits <ExitCode>' -ForEach @(
    @{ Scenario = 'healthy'; ExitCode = 0; Phase = 'Completed' }
    @{ Scenario = 'faulty'; ExitCode = 3; Phase = 'Aborted' }
    @{ Scenario = 'low-traffic'; ExitCode = 4; Phase = 'Paused' }
) {
    BeforeAll {
        $metrics = Start-KubesteadSandbox -MeshProvider istio -Scenario $Scenario -CliPath (Get-TestCliPath) -Confirm:$false
        $spec = Join-Path $TestDrive "judged-$Scenario.yaml"
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
  scaleDownDelay: 0s
  steps:
    - setWeight: 50
    - analysis: { untilVerdict: true, duration: 20s }
  analysis:
    interval: 5s
    metrics:
      - name: success-rate
        provider: { simulated: {} }
        judge: { threshold: { successRate: 99 } }
  policies: { onInsufficientData: pause }
'@ | Set-Content $spec
        $ci = Join-Path $TestDrive "ci-$Scenario.ps1"
        @"
`$ErrorActionPreference = 'Stop'
trap { [Console]::Out.WriteLine("error=`$(`$_.FullyQualifiedErrorId)"); [Console]::Out.Flush(); exit (`$_.Exception -is [Kubestead.PowerShell.KubesteadRolloutOutcomeException] ? `$_.Exception.ExitCode : 1) }
Import-Module '$modulePath'
`$r = Start-KubesteadRollout '$spec' -ErrorOnPause -WarningAction SilentlyContinue
"phase=`$(`$r.Phase)"
"@ | Set-Content $ci
    }
    AfterAll {
        $metrics | Stop-KubesteadSandbox -Confirm:$false
    }

    It 'ends <Phase> and exits <ExitCode> from pwsh -NonInteractive -File' {
        $r = Invoke-ChildPwsh $ci -File -Environment @{ KUBECONFIG = $metrics.KubeConfig }
        $r.ExitCode | Should -Be $ExitCode -Because $r.Output
        $env:KUBECONFIG = $metrics.KubeConfig
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be $Phase
        if ($ExitCode -eq 0) { $r.Output | Should -Match 'phase=Completed' } else { $r.Output | Should -Match 'error=Rollout(RolledBack|Paused),' }
    }
}

Describe 'Progress a person sees' {
    It 'fills the bar and shows the time left during a timed pause' {
        $env:KUBECONFIG = $sandbox.KubeConfig # the metrics sandbox of the CI tests above is stopped
        Reset-Shop
        $timed = New-TestSpec -Path (Join-Path $TestDrive 'progress.yaml') -Steps 'setWeight: 10', 'pause: { duration: 4s }'
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$modulePath'; Start-KubesteadRollout '$timed' -Confirm:`$false -WarningAction SilentlyContinue")
            $out = $ps.Invoke()
            $out[0].Phase | Should -Be 'Completed'
            $timedRecords = @($ps.Streams.Progress | Where-Object { $_.SecondsRemaining -gt 0 })
            $timedRecords.Count | Should -BeGreaterThan 0
            # A bar with a fill (PercentComplete is -1 when a record has none) and the time left.
            $timedRecords | ForEach-Object { $_.PercentComplete | Should -BeGreaterOrEqual 0; $_.PercentComplete | Should -BeLessOrEqual 100 }
            $timedRecords[0].StatusDescription | Should -Match 'left'
        } finally { $ps.Dispose() }
    }
}

Describe 'A wait on a rollout another process drives (issue #26 item 11)' {
    BeforeEach { New-SafetySpecs; Reset-Shop }

    It 'follows it: writes each step and phase as the driver does, ends with its outcome within seconds, and never takes its Lease' {
        $spec = New-TestSpec -Path (Join-Path $TestDrive "followed-$(Get-Random).yaml") -Steps 'setWeight: 10', 'pause: { duration: 6s }', 'setWeight: 50', 'pause: { duration: 6s }'
        $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
        foreach ($a in (Get-TestCliPath), 'start', '-f', $spec) { $psi.ArgumentList.Add($a) }
        $psi.Environment['KUBECONFIG'] = $env:KUBECONFIG
        $psi.RedirectStandardOutput = $true
        $psi.UseShellExecute = $false
        $driver = [System.Diagnostics.Process]::Start($psi)
        try {
            $output = $driver.StandardOutput.ReadToEndAsync()
            # The start takes the Lease before it records the rollout: wait for both, or the wait finds no rollout yet.
            Wait-Until { (Get-RolloutLeaseHolder) -ne '' -and (Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue) } -TimeoutSeconds 120 |
                Should -BeTrue -Because 'the CLI takes the Lease and records the rollout to drive it'
            $holder = Get-RolloutLeaseHolder
            $lines = Wait-KubesteadRollout shop -Namespace shop -Verbose -Confirm:$false 4>&1
            $returned = [DateTime]::Now
            $driver.WaitForExit(60000) | Should -BeTrue
            $driver.ExitCode | Should -Be 0 -Because $output.Result
            $r = $lines | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
            $verbose = ($lines | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message) -join "`n"
            $r.Phase | Should -Be 'Completed'
            # It read the state every 2 s, where it used to look again only every 30 s, and printed nothing meanwhile.
            ($returned - $driver.ExitTime).TotalSeconds | Should -BeLessThan 15
            $verbose | Should -Match "is driven by $([regex]::Escape($holder))"
            $verbose | Should -Match 'step 3/4: setWeight 50%'
            $verbose | Should -Match 'phase Completed'
            ([regex]::Matches($verbose, 'phase Completed')).Count | Should -Be 1
            # Every step of this rollout was driven by the CLI: the cmdlet only read. The history keeps the earlier
            # rollouts' entries (bounded), so only those from this rollout's start on count.
            $history = @($r.History)
            $thisStart = [array]::FindLastIndex([object[]]$history, [Predicate[object]]{ param($h) $h.Kind -eq 'start' })
            $thisStart | Should -BeGreaterOrEqual 0 -Because 'the rollout records its start'
            $history[$thisStart].Driver | Should -Be $holder
            $mine = @($history[$thisStart..($history.Count - 1)] | Where-Object Kind -In 'setWeight', 'step', 'complete')
            $mine.Count | Should -BeGreaterThan 0
            $mine | ForEach-Object { $_.Driver | Should -Be $holder }
        } finally {
            if (-not $driver.HasExited) { $driver.Kill() }
            $driver.Dispose()
        }
    }
}
