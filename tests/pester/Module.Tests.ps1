#Requires -Version 7.4
# The module without a cluster: surface, help, syntax, offline cmdlets, parameter binding and input conversion.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    $root = Get-TestRoot
    Import-Module (Get-TestModulePath) -Force
    $cmdlets = (Get-Module Kubestead).ExportedCmdlets.Keys | Sort-Object
}

Describe 'Module surface' {
    It 'exports the 21 cmdlets of the manifest, all compiled' {
        $cmdlets.Count | Should -Be 21
        foreach ($c in $cmdlets) { (Get-Command $c).CommandType | Should -Be 'Cmdlet' -Because $c }
    }

    It 'imports in a fresh pwsh without errors or warnings' {
        $r = Invoke-ChildPwsh "Import-Module '$(Get-TestModulePath)' -ErrorAction Stop -WarningAction Stop; (Get-Module Kubestead).Version.ToString()"
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Be '0.1.0'
    }

    It 'declares an OutputType that exists for every cmdlet' {
        foreach ($c in $cmdlets) {
            $types = (Get-Command $c).OutputType
            $types.Count | Should -BeGreaterThan 0 -Because $c
            foreach ($t in $types) { if ($t.Type) { $t.Type.FullName | Should -Not -BeNullOrEmpty } }
        }
    }

    It 'marks every cluster-changing cmdlet with SupportsShouldProcess and abort/promote as high impact' {
        foreach ($c in 'Start-KubesteadRollout', 'Suspend-KubesteadRollout', 'Resume-KubesteadRollout', 'Approve-KubesteadRollout', 'Stop-KubesteadRollout',
            'Complete-KubesteadRollout', 'Set-CanaryWeight', 'Set-CanaryHeaderRoute', 'Remove-CanaryHeaderRoute', 'Wait-KubesteadRollout') {
            (Get-Command $c).Parameters.ContainsKey('WhatIf') | Should -BeTrue -Because $c
        }
        foreach ($c in 'Stop-KubesteadRollout', 'Complete-KubesteadRollout') {
            $attr = (Get-Command $c).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attr.ConfirmImpact | Should -Be 'High'
        }
    }
}

Describe 'Help' {
    It 'has a synopsis, every parameter and at least two examples for <_>' -ForEach @(
        'Start-KubesteadRollout', 'Get-KubesteadRollout', 'Wait-KubesteadRollout', 'Suspend-KubesteadRollout', 'Resume-KubesteadRollout',
        'Stop-KubesteadRollout', 'Complete-KubesteadRollout', 'Test-KubesteadRollout', 'New-KubesteadRolloutSpec', 'Set-CanaryWeight',
        'Get-CanaryWeight', 'Set-CanaryHeaderRoute', 'Remove-CanaryHeaderRoute', 'Get-CanarySplitPlan', 'Get-CanaryAnalysis',
        'Get-KubesteadGitOpsConfig', 'Start-KubesteadSandbox', 'Stop-KubesteadSandbox', 'Approve-KubesteadRollout') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '^\s*\S+ \[' -Because 'a synopsis is a sentence, not the syntax PowerShell invents without help'
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $documented = @($help.parameters.parameter | ForEach-Object name)
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $shown = (Get-Command $_).Parameters.Values | Where-Object { -not ($_.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow }) } | ForEach-Object Name
        foreach ($p in $shown | Where-Object { $_ -notin $common }) {
            $documented | Should -Contain $p -Because "$_ -$p"
        }
    }

    It 'shows the syntax PowerShell itself derives from the compiled cmdlet for <_>' -ForEach @(
        'Start-KubesteadRollout', 'Set-CanaryWeight', 'Stop-KubesteadRollout', 'Test-KubesteadRollout', 'Get-CanaryAnalysis', 'Stop-KubesteadSandbox') {
        $cmd = Get-Command $_
        $help = Get-Help $_ -Full
        $helpSets = @($help.syntax.syntaxItem)
        $visible = @($cmd.ParameterSets | Where-Object { -not ($_.Parameters | Where-Object { $_.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow } }) })
        $helpSets.Count | Should -Be $visible.Count
        foreach ($set in $visible) {
            $names = @($set.Parameters | Where-Object { $_.Name -notin [System.Management.Automation.PSCmdlet]::CommonParameters } | ForEach-Object Name) | Sort-Object
            $match = $helpSets | Where-Object { (@($_.parameter | ForEach-Object name) | Sort-Object) -join ',' -eq ($names -join ',') }
            $match | Should -Not -BeNullOrEmpty -Because "the help's syntax must have the set $($set.Name): $($names -join ', ')"
            foreach ($sw in $set.Parameters | Where-Object { $_.ParameterType -eq [switch] }) {
                $hp = @($match)[0].parameter | Where-Object name -eq $sw.Name
                "$($hp.parameterValue)" | Should -BeNullOrEmpty -Because "-$($sw.Name) is a switch and takes no value"
            }
        }
    }

    It 'lists what each cmdlet takes from the pipeline under INPUTS' {
        foreach ($c in 'Get-CanaryWeight', 'Stop-KubesteadRollout', 'Test-KubesteadRollout') {
            (Get-Help $c -Full).inputTypes.inputType.type.name | Should -Not -BeNullOrEmpty -Because $c
        }
    }

    It 'has the about topics' {
        (Get-Help about_Kubestead) | Out-String | Should -Match 'canary'
        (Get-Help about_Kubestead_RolloutSpec) | Out-String | Should -Match 'setWeight'
    }
}

Describe 'Cmdlets that need no cluster' {
    It 'plans a split: 1% of 2 requests/s over 5 minutes is 6 requests, empty with probability e^-6' {
        $plan = Get-CanarySplitPlan 1 -RequestsPerSecond 2 -Window '00:05:00'
        $plan.ExpectedCanaryRequests | Should -BeGreaterThan 5.99
        $plan.ExpectedCanaryRequests | Should -BeLessThan 6.01
        $plan.EmptyWindowProbability | Should -BeGreaterThan ([math]::Exp(-6) * 0.99)
        $plan.EmptyWindowProbability | Should -BeLessThan ([math]::Exp(-6) * 1.01)
    }

    It 'plans a split with a created baseline (-Baseline): the baseline takes the canary share, a two-way mesh is refused' {
        $plan = Get-CanarySplitPlan 10 -RequestsPerSecond 100 -Baseline
        $plan.BaselineWeight | Should -Be 10
        $plan.Precision | Should -Match 'stable the rest \(80%\)'
        (Get-CanarySplitPlan 10 -RequestsPerSecond 100).BaselineWeight | Should -BeNullOrEmpty
        { Get-CanarySplitPlan 10 -RequestsPerSecond 100 -Baseline -MeshProvider nginx -ErrorAction Stop } |
            Should -Throw -ErrorId 'BaselineNotSupported,Kubestead.PowerShell.GetCanarySplitPlanCommand'
    }

    It 'plans past 12,500 requests/s with a real RequestsToPass, and says $null when the canary gets no traffic (issue #27 item 7)' {
        $busy = Get-CanarySplitPlan 5 -RequestsPerSecond 20000
        $busy.RequestsToPass | Should -Not -BeNullOrEmpty
        $busy.RequestsToPass | Should -BeLessThan 100000000
        $busy.RequestsToPass | Should -BeGreaterOrEqual ($busy.WindowsToPass * $busy.ExpectedCanaryRequests)
        $none = Get-CanarySplitPlan 0 -RequestsPerSecond 100
        $none.RequestsToPass | Should -BeNullOrEmpty
        $none.WindowsToPass | Should -BeNullOrEmpty
        $none.TimeToPassFloor | Should -BeNullOrEmpty
    }

    It 'plans a day-long window at a million requests/s (bounded work; it spun for minutes before)' {
        # In a child pwsh so that a regression fails this test (and is killed) instead of hanging the suite.
        $child = Start-ChildPwsh "Import-Module '$(Get-TestModulePath)'; (Get-CanarySplitPlan 5 -RequestsPerSecond 1e6 -Window '1.00:00:00').RequestsToPass"
        $exited = $child.WaitForExit(120000)
        if (-not $exited) { $child.Kill() }
        $exited | Should -BeTrue -Because 'the plan must return, not spin'
        $child.StandardOutput.ReadToEnd().Trim() | Should -Match '^\d+$'
    }

    It 'counts -PodVariance in what a Pass needs, says when none can come, and refuses one out of range (issue #29)' {
        $alike = Get-CanarySplitPlan 25 -RequestsPerSecond 200 -Window 15s
        $varied = Get-CanarySplitPlan 25 -RequestsPerSecond 200 -Window 15s -PodVariance 0.25 -StableReplicas 10 -CanaryReplicas 3
        $alike.PassPodBand | Should -BeNullOrEmpty
        $varied.PassPodBand | Should -BeGreaterThan 1
        $varied.RequestsToPass | Should -BeGreaterThan $alike.RequestsToPass
        $none = Get-CanarySplitPlan 25 -RequestsPerSecond 200 -PodVariance 1 -StableReplicas 10
        $none.RequestsToPass | Should -BeNullOrEmpty
        $none.Warnings -join "`n" | Should -Match 'no Pass can come'
        { Get-CanarySplitPlan 25 -RequestsPerSecond 200 -PodVariance 2 -StableReplicas 10 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,Kubestead.PowerShell.GetCanarySplitPlanCommand'
        { Get-CanarySplitPlan 25 -RequestsPerSecond 200 -PodVariance 0.5 -ErrorAction Stop } |
            Should -Throw -ErrorId 'StableReplicasRequired,Kubestead.PowerShell.GetCanarySplitPlanCommand'
    }

    It 'refuses -StableReplicas below 1 and warns when the settable share is far from the request (issue #27 item 8)' {
        { Get-CanarySplitPlan 5 -RequestsPerSecond 10 -MeshProvider none -StableReplicas 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,Kubestead.PowerShell.GetCanarySplitPlanCommand'
        (Get-CanarySplitPlan 0.3 -RequestsPerSecond 100).Warnings -join "`n" | Should -Match 'cannot be set exactly'
        (Get-CanarySplitPlan 5 -RequestsPerSecond 100).Warnings -join "`n" | Should -Not -Match 'cannot be set exactly'
    }

    It 'checks -Weight as a double: 100.4 and NaN are refused at binding, 100 and 0.25 pass (issue #27 item 9)' {
        foreach ($bad in 100.4, [double]::NaN, -0.1) {
            { Get-CanarySplitPlan $bad -RequestsPerSecond 10 -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,Kubestead.PowerShell.GetCanarySplitPlanCommand' -Because "$bad"
            { Set-CanaryWeight shop $bad -WhatIf -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,Kubestead.PowerShell.SetCanaryWeightCommand' -Because "$bad"
        }
        (Get-CanarySplitPlan 100 -RequestsPerSecond 10).AchievableWeight | Should -Be 100
        (Get-CanarySplitPlan 0.25 -RequestsPerSecond 10 -MeshProvider linkerd).AchievableWeight | Should -Be 0.25
    }

    It 'reads a number given as -Window as seconds, not ticks' {
        $bySeconds = Get-CanarySplitPlan 5 -RequestsPerSecond 10 -Window 300
        $byText = Get-CanarySplitPlan 5 -RequestsPerSecond 10 -Window 5m
        $bySeconds.ExpectedCanaryRequests | Should -Be 150
        $byText.ExpectedCanaryRequests | Should -Be 150
    }

    It 'reads a quoted day unit, and refuses an unquoted 1d (PowerShell''s decimal 1) instead of taking it as one second (issue #27 item 8)' {
        (Get-CanarySplitPlan 5 -RequestsPerSecond 10 -Window '1d').ExpectedCanaryRequests | Should -Be 43200
        { Get-CanarySplitPlan 5 -RequestsPerSecond 10 -Window 1d -ErrorAction Stop } | Should -Throw -ExpectedMessage "*decimal*Quote durations*"
    }

    It 'refuses a sub-second duration, naming the parameter' {
        { Get-CanarySplitPlan 5 -RequestsPerSecond 10 -Window 0.2 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*Window*'
        { Get-CanarySplitPlan 5 -RequestsPerSecond 10 -Window 'soon' -ErrorAction Stop } | Should -Throw -ExpectedMessage "*'soon' is not a duration*"
    }

    It 'judges counts ad hoc: 6% failures against 0.1% is a Fail' {
        $v = Get-CanaryAnalysis -CanaryRequests 1000 -CanaryFailures 60 -ControlRequests 100000 -ControlFailures 100
        $v.Outcome | Should -Be 'Fail'
        $v.CanaryFailures | Should -Be 60
    }

    It 'says insufficient data for a canary that saw too few requests' {
        (Get-CanaryAnalysis -CanaryRequests 3 -CanaryFailures 0 -ControlRequests 100000 -ControlFailures 100).Outcome | Should -Be 'InsufficientData'
    }

    It 'reports spec problems with file, line and the field' {
        $spec = Join-Path $TestDrive 'bad.yaml'
        (Get-Content "$root/examples/istio.yaml" -Raw) -replace 'setWeight: 5\b', 'setWeight: 500' | Set-Content $spec
        $checks = Test-KubesteadRollout $spec -ErrorAction SilentlyContinue
        ($checks | Where-Object Outcome -eq 'Failed').Message | Should -Match 'bad\.yaml:\d+:\d+: spec\.steps\[\d+\]\.setWeight: 500 is out of range'
    }

    It 'writes one non-terminating error per failed check, with a stable id' {
        $spec = Join-Path $TestDrive 'bad2.yaml'
        (Get-Content "$root/examples/istio.yaml" -Raw) -replace 'setWeight: 5\b', 'setWeight: 500' -replace 'meshProvider: istio', 'meshProvider: istoi' | Set-Content $spec
        $checks = Test-KubesteadRollout $spec -ErrorVariable errs -ErrorAction SilentlyContinue
        $failed = @($checks | Where-Object Outcome -eq 'Failed')
        $failed.Count | Should -BeGreaterOrEqual 2
        $errs.Count | Should -Be $failed.Count
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'RolloutCheckFailed,*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'works as a test with -Quiet: false for a bad spec, true for a good one' {
        $bad = Join-Path $TestDrive 'bad3.yaml'
        (Get-Content "$root/examples/istio.yaml" -Raw) -replace 'setWeight: 5\b', 'setWeight: 500' | Set-Content $bad
        Test-KubesteadRollout $bad -Quiet | Should -BeFalse
        Test-KubesteadRollout "$root/examples/istio.yaml" -Quiet | Should -BeTrue
        if (Test-KubesteadRollout $bad -Quiet) { throw 'a bad spec must not pass an if' }
    }

    It 'takes files from Get-ChildItem and wildcards, one result per spec' {
        $fromPipe = Get-ChildItem "$root/examples/*.yaml" | Test-KubesteadRollout -Quiet
        $fromWildcard = Test-KubesteadRollout "$root/examples/*.yaml" -Quiet
        $count = @(Get-ChildItem "$root/examples/*.yaml").Count
        @($fromPipe).Count | Should -Be $count
        @($fromWildcard).Count | Should -Be $count
        $fromPipe | Should -Not -Contain $false
    }

    It 'takes a literal path with wildcard characters in its name' {
        $odd = Join-Path $TestDrive 'spec[1].yaml'
        Copy-Item -LiteralPath "$root/examples/istio.yaml" -Destination $odd
        Test-KubesteadRollout -LiteralPath $odd -Quiet | Should -BeTrue
    }

    It 'reports a missing spec file as a non-terminating error and goes on with the next path' {
        $r = Test-KubesteadRollout "$TestDrive/nope.yaml", "$root/examples/istio.yaml" -Quiet -ErrorVariable errs -ErrorAction SilentlyContinue
        @($r) | Should -Be @($true)
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SpecFileNotFound,*'
    }

    It 'reports a -Path wildcard that matches no file as SpecFileNotFound, naming -LiteralPath for brackets' {
        $odd = Join-Path $TestDrive '[prod] shop.yaml'
        Copy-Item -LiteralPath "$root/examples/istio.yaml" -Destination $odd
        $r = Test-KubesteadRollout "$TestDrive/nomatch*.yaml", $odd -Quiet -ErrorVariable errs -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $errs | Should -HaveCount 2
        $errs.FullyQualifiedErrorId | ForEach-Object { $_ | Should -BeLike 'SpecFileNotFound,*' }
        $errs.CategoryInfo.Category | ForEach-Object { $_ | Should -Be 'ObjectNotFound' }
        "$($errs[0])" | Should -Match "no spec file matches -Path '.*nomatch\*\.yaml'"
        "$($errs[1])" | Should -Match 'use -LiteralPath'
        $errs[1].TargetObject | Should -Be $odd
    }

    It 'fails a CI step whose -Path matches nothing, before touching any cluster' {
        $r = Invoke-ChildPwsh "Import-Module '$(Get-TestModulePath)'; Start-KubesteadRollout '$TestDrive/nomatch*.yaml' -Confirm:`$false" -Environment @{ KUBECONFIG = '/nonexistent/kubeconfig' }
        $r.ExitCode | Should -Not -Be 0 -Because $r.Output
        $r.Output | Should -Match 'no spec file matches'
        $ci = Join-Path $TestDrive 'ci-nomatch.ps1'
        "`$ErrorActionPreference = 'Stop'; Import-Module '$(Get-TestModulePath)'; Start-KubesteadRollout '$TestDrive/nomatch*.yaml' -Confirm:`$false; 'not reached'" | Set-Content $ci
        $r = Invoke-ChildPwsh $ci -File -Environment @{ KUBECONFIG = '/nonexistent/kubeconfig' }
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Not -Match 'not reached'
    }
}

Describe 'Parameters read naturally' {
    It 'binds Set-CanaryWeight shop 10 by position' {
        $cmd = Get-Command Set-CanaryWeight
        $named = $cmd.ParameterSets | Where-Object Name -eq 'Name'
        ($named.Parameters | Where-Object Name -eq 'Name').Position | Should -Be 0
        ($named.Parameters | Where-Object Name -eq 'Weight').Position | Should -Be 1
    }

    It 'completes contexts and namespaces from the kubeconfig' {
        $kc = Join-Path $TestDrive 'kc.yaml'
        @'
apiVersion: v1
kind: Config
clusters: [{ name: c1, cluster: { server: "http://127.0.0.1:1" } }]
users: [{ name: u1, user: { token: not-a-real-token } }]
contexts:
- name: prod-east
  context:
    cluster: c1
    user: u1
    namespace: payments
- name: staging
  context:
    cluster: c1
    user: u1
current-context: staging
'@ | Set-Content $kc
        $saved = $env:KUBECONFIG
        try {
            $env:KUBECONFIG = $kc
            $line = 'Get-KubesteadRollout -Context pro'
            $c = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $c.CompletionMatches.CompletionText | Should -Be @('prod-east')
            $line = 'Get-KubesteadRollout -Namespace pay'
            $n = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $n.CompletionMatches.CompletionText | Should -Contain 'payments'
        } finally { $env:KUBECONFIG = $saved }
    }
}
