#Requires -Version 7.4
# PowerShell conventions (issue #27 items 8 and 9): confirmations that cannot be shown become clear errors naming the
# switches the cmdlet has, errors carry ids, categories, the input as target and a recommended action, and bad input
# is refused before the cluster.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    $modulePath = Get-TestModulePath
    Import-Module $modulePath -Force

    # Runs each script block in a child pwsh -NonInteractive and returns, per block, "id|category|target|action|message"
    # of the error it ended with ('no error' when none).
    function Invoke-ChildErrors {
        param([string[]] $Blocks, [hashtable] $Environment = @{})
        $body = ($Blocks | ForEach-Object {
                "try { & { $_ } -ErrorAction Stop | Out-Null; 'no error' } catch { `"`$(`$_.FullyQualifiedErrorId)|`$(`$_.CategoryInfo.Category)|`$(`$_.TargetObject)|`$(`$_.ErrorDetails.RecommendedAction)|`$_`" }"
            }) -join "`n"
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'`n$body" -Environment $Environment
        @($r.Output -split "`n" | Where-Object { $_ -match '\|' -or $_ -eq 'no error' })
    }
}

Describe 'A confirmation PowerShell cannot show (-NonInteractive), without a cluster (issue #27 item 8)' {
    It 'Wait-KubesteadRollout, Export-KubesteadReport and Start-KubesteadSandbox -Confirm end with ConfirmationRequired (not a raw InvalidOperation), naming -Confirm:$false and not -Force' {
        # One child for the three (a child pwsh is slow on a loaded machine).
        $cases = @(
            @{ Command = 'Wait-KubesteadRollout'; Block = 'Wait-KubesteadRollout shop -Namespace shop -Confirm'; Target = 'shop' }
            @{ Command = 'Export-KubesteadReport'; Block = 'Export-KubesteadReport shop -Path ([IO.Path]::GetTempPath()) -Confirm'; Target = 'shop' }
            @{ Command = 'Start-KubesteadSandbox'; Block = "Start-KubesteadSandbox -CliPath '$(Get-TestCliPath)' -Confirm"; Target = 'istio' }
        )
        $lines = @(Invoke-ChildErrors $cases.Block -Environment @{ KUBECONFIG = (Join-Path $TestDrive 'none.yaml') })
        $lines.Count | Should -Be 3 -Because ($lines -join "`n")
        for ($i = 0; $i -lt 3; $i++) {
            $because = "$($cases[$i].Command): $($lines[$i])"
            $id, $category, $target, $action, $message = $lines[$i] -split '\|', 5
            $id | Should -BeLike 'ConfirmationRequired,*' -Because $because
            $category | Should -Be 'PermissionDenied' -Because $because
            $target | Should -Be $cases[$i].Target -Because $because
            $message | Should -Match 'needs a confirmation' -Because $because
            $message | Should -Match 'Pass -Confirm:\$false to go ahead' -Because $because
            $message | Should -Not -Match '-Force' -Because "$because (it has no -Force)"
            $action | Should -Match '-Confirm:\$false' -Because $because
        }
    }
}

Describe 'Input refused before the cluster (issue #27 item 9)' {
    BeforeAll {
        # No cluster at all: a call that got past binding would fail on the kubeconfig instead.
        $savedKubeconfig = $env:KUBECONFIG
        $env:KUBECONFIG = Join-Path $TestDrive 'no-such-kubeconfig.yaml'
    }
    AfterAll { $env:KUBECONFIG = $savedKubeconfig }

    It 'refuses an empty <Parameter> of <Command> at binding, naming it' -ForEach @(
        @{ Command = 'Get-KubesteadRollout'; Parameter = 'Name'; Call = { Get-KubesteadRollout -Name '' -ErrorAction Stop } }
        @{ Command = 'Get-CanaryWeight'; Parameter = 'Namespace'; Call = { Get-CanaryWeight shop -Namespace '' -ErrorAction Stop } }
        @{ Command = 'Stop-KubesteadRollout'; Parameter = 'Name'; Call = { Stop-KubesteadRollout '' -WhatIf -ErrorAction Stop } }
        @{ Command = 'Set-CanaryHeaderRoute'; Parameter = 'RouteName'; Call = { Set-CanaryHeaderRoute shop -RouteName '' -WhatIf -ErrorAction Stop } }
        @{ Command = 'Remove-CanaryHeaderRoute'; Parameter = 'RouteName'; Call = { Remove-CanaryHeaderRoute shop -RouteName '' -WhatIf -ErrorAction Stop } }
        @{ Command = 'New-KubesteadRolloutSpec'; Parameter = 'Service'; Call = { New-KubesteadRolloutSpec '' -ErrorAction Stop } }
    ) {
        $Call | Should -Throw -ErrorId "ParameterArgumentValidationError*,Kubestead.PowerShell.$($Command -replace '-', '')Command" -ExpectedMessage "*'$Parameter'*"
    }

    It 'shows on every markdown page each parameter''s real sets and whether it takes wildcards (not "(All)" for one set)' {
        foreach ($cmd in Get-Command -Module Kubestead -CommandType Cmdlet) {
            $page = Get-Content -Raw (Join-Path (Get-TestRoot) "docs/en-US/$($cmd.Name).md")
            foreach ($p in $cmd.Parameters.Values | Where-Object { $_.Name -notin [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }) {
                $block = [regex]::Match($page, "(?s)\n### -$($p.Name)\n.*?``````yaml\n(.*?)\n``````").Groups[1].Value
                $block | Should -Not -BeNullOrEmpty -Because "$($cmd.Name) -$($p.Name) needs a section"
                $sets = if ($p.ParameterSets.ContainsKey('__AllParameterSets')) { '(All)' } else { $p.ParameterSets.Keys -join ', ' }
                $shownSets = [regex]::Match($block, 'Parameter Sets: ([^\n]*)').Groups[1].Value
                @($shownSets -split ', ' | Sort-Object) | Should -Be @($sets -split ', ' | Sort-Object) -Because "$($cmd.Name) -$($p.Name)"
                $wildcards = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
                $block | Should -Match "Accept wildcard characters: $wildcards" -Because "$($cmd.Name) -$($p.Name)"
            }
        }
    }

    It 'refuses -AllNamespaces with -Namespace (two different lists) before the cluster' {
        { Get-KubesteadRollout -AllNamespaces -Namespace shop -ErrorAction Stop } |
            Should -Throw -ErrorId 'NamespaceWithAllNamespaces,Kubestead.PowerShell.GetKubesteadRolloutCommand' -ExpectedMessage '*-AllNamespaces*-Namespace*'
    }

    It 'warns that -KubeConfig, -Context and -TimeoutSec do nothing where no cluster is read (Test without -Cluster, counts judged ad hoc)' {
        $spec = New-TestSpec -Path (Join-Path $TestDrive 'offline.yaml')
        Test-KubesteadRollout $spec -KubeConfig ./elsewhere.yaml -Quiet -WarningVariable w -WarningAction SilentlyContinue | Should -BeTrue
        "$w" | Should -Match '-KubeConfig is not used: without -Cluster'
        Get-CanaryAnalysis -CanaryRequests 100 -CanaryFailures 1 -ControlRequests 1000 -ControlFailures 10 -Context prod -TimeoutSec 5 -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        "$w" | Should -Match '-Context, -TimeoutSec are not used'
        Test-KubesteadRollout $spec -Quiet -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $w | Should -BeNullOrEmpty
    }

    It 'has no placeholder address in the manifest (no example.invalid ProjectUri; none rather than a false one)' {
        $manifest = Import-PowerShellDataFile (Join-Path (Get-TestRoot) 'module/Kubestead.psd1')
        "$($manifest.PrivateData.PSData.ProjectUri)$($manifest.PrivateData.PSData.LicenseUri)$($manifest.HelpInfoURI)" | Should -Not -Match 'example\.(invalid|com)'
        (Get-Module Kubestead).ProjectUri | Should -BeNullOrEmpty
    }

    It 'gives the about topics a synopsis (Get-Help about_Kubestead*)' {
        foreach ($topic in 'about_Kubestead', 'about_Kubestead_RolloutSpec') {
            (Get-Help $topic).Synopsis | Should -Not -BeNullOrEmpty -Because $topic
        }
        (Get-Help about_Kubestead).Synopsis | Should -Match 'Canary releases on Kubernetes'
    }

    It 'says in Get-Help that -Name of Get-KubesteadRollout takes wildcards and the pipeline by value' {
        $p = Get-Help Get-KubesteadRollout -Parameter Name
        $p.globbing | Should -Be 'true'
        $p.pipelineInput | Should -Match 'ByValue'
    }
}

Describe 'Views (issue #27 item 9)' {
    It 'gives every output type of the module, and the items of their array properties, a view whose headers are property names' {
        $types = [System.Collections.Generic.HashSet[type]]::new()
        foreach ($c in Get-Command -Module Kubestead -CommandType Cmdlet) {
            foreach ($t in $c.OutputType.Type) { if ($t.Namespace -eq 'Kubestead.PowerShell') { $null = $types.Add($t) } }
        }
        foreach ($t in @($types)) {
            foreach ($p in $t.GetProperties()) {
                if ($p.PropertyType.IsArray -and $p.PropertyType.GetElementType().Namespace -eq 'Kubestead.PowerShell') { $null = $types.Add($p.PropertyType.GetElementType()) }
            }
        }
        @($types.Name) | Should -Contain 'KubesteadHistoryEntry'
        $types.Count | Should -BeGreaterOrEqual 9
        foreach ($t in $types) {
            $format = Get-FormatData -TypeName $t.FullName -PowerShellVersion ([version]'7.4')
            $format | Should -Not -BeNullOrEmpty -Because "$($t.Name) needs a view"
            $properties = [string[]]$t.GetProperties().Name
            foreach ($view in $format.FormatViewDefinition) {
                $labels = @(if ($view.Control -is [System.Management.Automation.TableControl]) {
                        for ($i = 0; $i -lt $view.Control.Headers.Count; $i++) {
                            # No label: PowerShell shows the property name (a script block column must have one).
                            if ($view.Control.Headers[$i].Label) { $view.Control.Headers[$i].Label } else { $view.Control.Rows[0].Columns[$i].DisplayEntry.Value }
                        }
                    } else {
                        foreach ($item in $view.Control.Entries[0].Items) { if ($item.Label) { $item.Label } else { $item.DisplayEntry.Value } }
                    })
                $labels.Count | Should -BeGreaterThan 0 -Because $t.Name
                foreach ($label in $labels) { $properties -ccontains $label | Should -BeTrue -Because "$($t.Name) shows a column '$label', which must be a property name (case included)" }
            }
        }
    }
}

Describe 'Against an istio sandbox' {
    BeforeAll {
        $savedKubeconfig = $env:KUBECONFIG
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
        $spec = New-TestSpec -Path (Join-Path $TestDrive 'shop.yaml')
        Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue | Out-Null
    }
    AfterAll {
        # The last test stops it already.
        $sandbox | Stop-KubesteadSandbox -Confirm:$false -ErrorAction SilentlyContinue
        $env:KUBECONFIG = $savedKubeconfig
    }

    It 'names -Force in a needed confirmation only for cmdlets that have it (Resume: -Confirm:$false; Stop: -Force), writing nothing (issue #27 item 8)' {
        $before = Get-ClusterFingerprint
        # Resume, not Suspend: suspending the paused rollout has nothing to write, so it asks nothing (see below).
        $resume, $stop = Invoke-ChildErrors 'Resume-KubesteadRollout shop -Namespace shop -Confirm', 'Stop-KubesteadRollout shop -Namespace shop' -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $resume | Should -BeLike 'ConfirmationRequired,*'
        $resume | Should -Match 'Pass -Confirm:\$false to go ahead'
        $resume | Should -Not -Match '-Force'
        $stop | Should -BeLike 'ConfirmationRequired,*'
        $stop | Should -Match 'Pass -Force, or -Confirm:\$false, to go ahead'
        Get-ClusterFingerprint | Should -Be $before
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
    }

    It 'binds a name piped as a string and takes wildcards in -Name (no match is no output, not an error; issue #27 item 9)' {
        ('shop' | Get-KubesteadRollout -Namespace shop).Name | Should -Be 'shop'
        (Get-KubesteadRollout 'sh*' -Namespace shop).Name | Should -Be 'shop'
        (Get-KubesteadRollout 'SH?P' -AllNamespaces).Namespace | Should -Be 'shop'
        Get-KubesteadRollout 'nomatch*' -Namespace shop -ErrorVariable errs | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
    }

    It 'prints a rollout in a string as where it is, not as its type name' {
        "$(Get-KubesteadRollout shop -Namespace shop)" | Should -Be 'shop/shop Paused (Manual) at step 2/2, canary 10%'
    }

    It 'sets a RecommendedAction on errors from the cluster (a rollout that does not exist)' {
        Get-KubesteadRollout nosuch -Namespace shop -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].ErrorDetails.RecommendedAction | Should -Match '-Namespace'
        "$($errs[0])" | Should -Match 'nosuch' -Because 'the message stays Core''s own'
    }

    It 'completes rollout names from the cluster of the -KubeConfig and -Context already typed, not $env:KUBECONFIG''s (issue #27 item 9)' {
        # The sandbox's kubeconfig with a second, dead context made the current one.
        $two = Join-Path $TestDrive 'two-contexts.yaml'
        (Get-Content -Raw $sandbox.KubeConfig) -replace 'current-context: kubestead-sandbox', 'current-context: dead' `
            -replace '(?m)^clusters:\r?\n', "clusters:`n- name: dead`n  cluster:`n    server: http://127.0.0.1:1`n" `
            -replace '(?m)^contexts:\r?\n', "contexts:`n- name: dead`n  context:`n    cluster: dead`n    user: kubestead-sandbox`n" | Set-Content $two
        $saved = $env:KUBECONFIG
        $env:KUBECONFIG = Join-Path $TestDrive 'no-such-kubeconfig.yaml'
        try {
            foreach ($line in "Get-KubesteadRollout -Namespace shop -KubeConfig '$($sandbox.KubeConfig)' -Name sh",
                "Stop-KubesteadRollout -KubeConfig '$two' -Context kubestead-sandbox -Namespace shop sh") {
                @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText) | Should -Be @('shop') -Because $line
            }
            # Without the typed -Context the kubeconfig's current context (dead) is asked: nothing, and no error.
            $line = "Stop-KubesteadRollout -KubeConfig '$two' -Namespace shop sh"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Should -BeNullOrEmpty
        } finally { $env:KUBECONFIG = $saved }
    }

    It 'outputs nothing from Set-/Remove-CanaryHeaderRoute and Suspend-KubesteadRollout unless -PassThru, which returns the rollout (issue #27 item 9)' {
        Set-CanaryHeaderRoute shop -Namespace shop -RouteName quiet -Confirm:$false | Should -BeNullOrEmpty
        $r = Set-CanaryHeaderRoute shop -Namespace shop -RouteName passed -Confirm:$false -PassThru
        $r | Should -BeOfType Kubestead.PowerShell.KubesteadRollout
        $r.Name | Should -Be 'shop'
        Remove-CanaryHeaderRoute shop -Namespace shop -RouteName quiet -Confirm:$false | Should -BeNullOrEmpty
        (Remove-CanaryHeaderRoute shop -Namespace shop -RouteName passed -Confirm:$false -PassThru).Name | Should -Be 'shop'
        Resume-KubesteadRollout shop -Namespace shop -NoWait -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        Suspend-KubesteadRollout shop -Namespace shop -Confirm:$false | Should -BeNullOrEmpty
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
        Resume-KubesteadRollout shop -Namespace shop -NoWait -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        $s = Suspend-KubesteadRollout shop -Namespace shop -Confirm:$false -PassThru
        $s | Should -BeOfType Kubestead.PowerShell.KubesteadRollout
        $s.Phase | Should -Be 'Paused'
        $s.PauseReason | Should -Be 'Manual'
    }

    It 'says in a warning that a change has nothing to do, writes nothing and asks nothing (already paused, no such route; issue #27 item 9)' {
        $before = Get-ClusterFingerprint
        Suspend-KubesteadRollout shop -Namespace shop -Confirm:$false -WarningVariable w -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$w" | Should -Match 'already paused \(Manual\): nothing is written'
        Remove-CanaryHeaderRoute shop -Namespace shop -RouteName never-set -Confirm:$false -WarningVariable w -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$w" | Should -Match 'no header route never-set: nothing to remove'
        # Nothing to write needs no confirmation (-Confirm in this -NonInteractive session is no error), and -PassThru
        # still returns the rollout as it is.
        (Suspend-KubesteadRollout shop -Namespace shop -PassThru -Confirm -WarningAction SilentlyContinue).Phase | Should -Be 'Paused'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'shows progress on two bars that keep their scales: the rollout''s steps, and under it the step''s wait (issue #27 item 9)' {
        $timed = New-TestSpec -Path (Join-Path $TestDrive 'progress.yaml') -Steps 'setWeight: 10', 'pause: { duration: 3s }', 'setWeight: 20'
        # Last in this block: it ends the paused rollout the tests above read.
        Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$modulePath'; Start-KubesteadRollout '$timed' -Confirm:`$false -WarningAction SilentlyContinue")
            $ps.Invoke()[0].Phase | Should -Be 'Completed'
            $records = @($ps.Streams.Progress | Where-Object RecordType -ne 'Completed')
            $waits = @($records | Where-Object { $_.SecondsRemaining -gt 0 })
            $waits.Count | Should -BeGreaterThan 0
            $waits | ForEach-Object { $_.ActivityId | Should -Be 2; $_.ParentActivityId | Should -Be 1 }
            $steps = @($records | Where-Object ActivityId -eq 1)
            $steps.Count | Should -BeGreaterThan 1
            $fill = @($steps.PercentComplete)
            for ($i = 1; $i -lt $fill.Count; $i++) { $fill[$i] | Should -BeGreaterOrEqual $fill[$i - 1] -Because 'the rollout''s bar only moves forward' }
        } finally { $ps.Dispose() }
    }

    It 'returns the stopped sandbox from Stop-KubesteadSandbox only with -PassThru (last: it stops the sandbox)' {
        $stopped = $sandbox | Stop-KubesteadSandbox -Confirm:$false -PassThru
        $stopped | Should -BeOfType Kubestead.PowerShell.KubesteadSandboxInfo
        $stopped.ProcessId | Should -Be $sandbox.ProcessId
        Get-Process -Id $sandbox.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
