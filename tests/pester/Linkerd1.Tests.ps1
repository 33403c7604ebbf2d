#Requires -Version 7.4
# Linkerd 1.x from PowerShell (issue #13): a sandbox whose emulated namerd holds the dtab, a rollout that shifts weight
# by rewriting Kubestead's one dentry there, header routes that write nothing and return the l5d-dtab header to send,
# promotion and abort that leave the dtab as it was, and -WhatIf winning over -Force. Also the cookie parameters of
# Set-CanaryHeaderRoute misused (clear errors, nothing written).
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $savedKubeconfig = $env:KUBECONFIG
}

AfterAll { $env:KUBECONFIG = $savedKubeconfig }

Describe 'A Linkerd 1.x rollout in the sandbox (namerd dtab)' {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider linkerd1 -CliPath (Get-TestCliPath) -Confirm:$false
        Set-TestNamerd $sandbox.NamerdAddress
        $original = (Get-NamerdDtab).Text
        $spec = New-TestSpec -Path (Join-Path $TestDrive 'linkerd1.yaml') -Mesh linkerd1
        $dentry = { param($s, $c) "/svc/shop => $s * /env/prod/shop & $c * /env/prod/shop-canary" }
    }
    AfterAll { $sandbox | Stop-KubesteadSandbox -Confirm:$false; Set-TestNamerd $null }

    It 'exposes the emulated namerd on the sandbox object (a free port on 127.0.0.1)' {
        $sandbox.MeshProvider | Should -Be 'linkerd1'
        $sandbox.NamerdAddress | Should -Match '^http://127\.0\.0\.1:\d+/$'
        $original | Should -Match '/svc\s+=> /env/prod'
        $original | Should -Not -Match 'shop-canary'
    }

    It 'a sandbox of another mesh has no namerd' {
        # Checked on the object type, without a second sandbox: the property exists and is null elsewhere.
        [Kubestead.PowerShell.KubesteadSandboxInfo]::new().NamerdAddress | Should -BeNullOrEmpty
    }

    It 'starts: appends Kubestead''s dentry and pauses at 10%' {
        $r = Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue
        $r.Phase | Should -Be 'Paused'
        $r.MeshProvider | Should -Be 'linkerd1'
        $r.CanaryWeight | Should -Be 10
        $now = (Get-NamerdDtab).Text
        $now | Should -BeLike "*$(& $dentry 90 10)*"
        # Every line that was there is still there, in order: only the dentry was added.
        $now.StartsWith($original.TrimEnd("`n")) | Should -BeTrue
    }

    It 'sets the weight by rewriting only that dentry''s weights (0.5% is 995 & 5)' {
        Set-CanaryWeight shop 0.5 -Namespace shop -Confirm:$false
        (Get-NamerdDtab).Text | Should -BeLike "*$(& $dentry 995 5)*"
        $w = Set-CanaryWeight shop 20 -Namespace shop -Confirm:$false -PassThru
        $w.CanaryWeightPercent | Should -Be 20
        $w.MeshProvider | Should -Be 'linkerd1'
        $text = (Get-NamerdDtab).Text
        $text | Should -BeLike "*$(& $dentry 80 20)*"
        ([regex]::Matches($text, '/svc/shop =>')).Count | Should -Be 1 -Because 'one dentry, rewritten in place'
    }

    It 'header route: writes nothing to namerd and returns (with -PassThru) the l5d-dtab header testers send' {
        $before = Get-ClusterFingerprint
        $dtab = Get-NamerdDtab
        $r = Set-CanaryHeaderRoute shop -Namespace shop -RouteName testers -Confirm:$false -PassThru
        $r | Should -BeOfType Kubestead.PowerShell.KubesteadRollout
        $r.RequestHeaders['l5d-dtab'] | Should -Be '/svc/shop => /env/prod/shop-canary'
        $r.RequestHeaders.Count | Should -Be 1
        ($r | Out-String -Width 300) | Should -Match 'l5d-dtab: /svc/shop => /env/prod/shop-canary'
        # Without -PassThru the header to send is not lost: a warning names it (issue #27 item 9).
        Set-CanaryHeaderRoute shop -Namespace shop -RouteName testers -Confirm:$false -WarningVariable w -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$w" | Should -Match 'sending l5d-dtab: /svc/shop => /env/prod/shop-canary \(-PassThru returns it as RequestHeaders\)'
        $after = Get-NamerdDtab
        $after.Version | Should -Be $dtab.Version
        $after.Text | Should -Be $dtab.Text
        # Only the rollout's own record (the route is remembered) changed in the cluster.
        $changed = Compare-Object ($before -split ';') ((Get-ClusterFingerprint) -split ';') | Where-Object SideIndicator -eq '=>' | ForEach-Object InputObject
        $changed | Should -HaveCount 1
        $changed | Should -BeLike '/api/v1/namespaces/shop/configmaps/kubestead-shop@*'
    }

    It 'header route: warns that a header or cookie match given does not apply (only l5d-dtab routes), and not for the default (issue #27 item 8)' {
        Set-CanaryHeaderRoute shop -Namespace shop -RouteName plain -Confirm:$false -PassThru -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $w | Should -BeNullOrEmpty
        foreach ($call in { Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName beta -CookieValue always -Confirm:$false -WarningVariable script:w -WarningAction SilentlyContinue },
            { Set-CanaryHeaderRoute shop -Namespace shop -RouteName hdr -HeaderName x-beta -HeaderValue yes -Confirm:$false -WarningVariable script:w -WarningAction SilentlyContinue }) {
            $script:w = $null
            & $call | Out-Null
            "$script:w" | Should -Match 'does not apply on Linkerd 1\.x.*l5d-dtab: /svc/shop => /env/prod/shop-canary' -Because "$call"
        }
        $r = Invoke-ChildPwsh "Import-Module '$(Get-TestModulePath)'; Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta2 -CookieName beta -CookieRegex 'b.*' -WhatIf" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.Output | Should -Match 'cookie beta matching b\.\* does not apply on Linkerd 1\.x'
    }

    It 'header route with -WhatIf: nothing changes, not even the rollout''s record' {
        $before = Get-ClusterFingerprint
        Set-CanaryHeaderRoute shop -Namespace shop -RouteName other -WhatIf | Should -BeNullOrEmpty
        Get-ClusterFingerprint | Should -Be $before
    }

    It '-WhatIf wins over -Force: no weight of 100%, no promotion, no abort (the dtab version stays)' {
        $before = Get-ClusterFingerprint
        $before | Should -Match 'namerd/shop@'
        Set-CanaryWeight shop 100 -Namespace shop -Force -WhatIf
        Complete-KubesteadRollout shop -Namespace shop -Force -NoWait -WhatIf
        Stop-KubesteadRollout shop -Namespace shop -Force -WhatIf
        $WhatIfPreference = $true
        try { Stop-KubesteadRollout shop -Namespace shop -Force } finally { $WhatIfPreference = $false }
        Get-ClusterFingerprint | Should -Be $before
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
    }

    It 'shows GitOps settings for the Deployment only, saying the dtab lives in namerd' {
        $g = Get-KubesteadGitOpsConfig shop -Namespace shop
        $g.ArgoCdIgnoreDifferences | Should -Match 'the dtab lives in namerd'
        $g.ArgoCdIgnoreDifferences | Should -Not -Match 'kind: (HTTPRoute|TrafficSplit|VirtualService|Service)\b'
        $g.ManagedFields | Should -Be @('/spec/template')
    }

    It 'promotes: the canary''s template goes to stable and the dtab is byte-for-byte what it was' {
        $r = Complete-KubesteadRollout shop -Namespace shop -Force
        $r.Phase | Should -Be 'Completed'
        (Get-NamerdDtab).Text | Should -Be $original
        Get-SandboxObject '/api/v1/namespaces/shop/services/shop-canary' | Should -BeNullOrEmpty
    }

    It 'aborts a second rollout: all traffic back to stable and the dentry removed' {
        $second = New-TestSpec -Path (Join-Path $TestDrive 'linkerd1-2.yaml') -Mesh linkerd1 -Image 'registry.example.com/shop:3.0.0'
        (Start-KubesteadRollout $second -Confirm:$false -WarningAction SilentlyContinue).Phase | Should -Be 'Paused'
        Set-CanaryWeight shop 30 -Namespace shop -Confirm:$false
        (Get-NamerdDtab).Text | Should -BeLike "*$(& $dentry 70 30)*"
        $r = Stop-KubesteadRollout shop -Namespace shop -Force
        $r.Phase | Should -Be 'Aborted'
        $r.CanaryWeight | Should -Be 0
        (Get-NamerdDtab).Text | Should -Be $original
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty
    }

    It 'plans a start with namerd''s dtab and each step''s dentry (-WhatIf, nothing written)' {
        $before = Get-ClusterFingerprint
        $third = New-TestSpec -Path (Join-Path $TestDrive 'linkerd1-3.yaml') -Mesh linkerd1 -Steps 'setWeight: 5', 'setWeight: 40'
        # The What-if text goes to the host: read it from a child pwsh.
        $r = Invoke-ChildPwsh "Import-Module '$(Get-TestModulePath)'; Start-KubesteadRollout '$third' -WhatIf" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $out = $r.Output
        $out | Should -Match "the dtab 'shop' of namerd at $([regex]::Escape($sandbox.NamerdAddress))"
        $out | Should -Match ([regex]::Escape("step 1: setWeight 5% (namerd dtab 'shop': $(& $dentry 95 5)"))
        $out | Should -Match ([regex]::Escape("step 2: setWeight 40% (namerd dtab 'shop': $(& $dentry 60 40)"))
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'refuses -MeshProvider linkerd1 with -Image, naming spec.linkerd1, and writes nothing' {
        $before = Get-ClusterFingerprint
        Start-KubesteadRollout -Name shop -Image registry.example.com/shop:4 -MeshProvider linkerd1 -Namespace shop -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -BeGreaterThan 0
        "$($errs[0])" | Should -Match 'meshProvider linkerd1 needs spec\.linkerd1'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'scaffolds a linkerd1 spec that validates (New-KubesteadRolloutSpec -MeshProvider linkerd1)' {
        $yaml = New-KubesteadRolloutSpec shop -Namespace shop -MeshProvider linkerd1
        $yaml | Should -Match 'meshProvider: linkerd1'
        $yaml | Should -Match 'canary: /#/io\.l5d\.k8s/shop/http/shop-canary'
        $file = Join-Path $TestDrive 'scaffolded-l1.yaml'
        $yaml | Set-Content $file
        Test-KubesteadRollout $file -Quiet | Should -BeTrue
    }

    It 'plans the split in dentry weights (Get-CanarySplitPlan -MeshProvider linkerd1)' {
        $p = Get-CanarySplitPlan 0.25 -RequestsPerSecond 100 -MeshProvider linkerd1
        $p.AchievableWeight | Should -Be 0.25
        $p.MinimumCanaryWeight | Should -Be 0.01
        $p.Precision | Should -Match 'namerd dentry weights'
    }
}

Describe 'Set-CanaryHeaderRoute cookie parameters misused (clear errors, nothing written)' {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
        $spec = New-TestSpec -Path (Join-Path $TestDrive 'istio.yaml') -Mesh istio
        Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue | Out-Null
    }
    AfterAll { $sandbox | Stop-KubesteadSandbox -Confirm:$false }

    It 'refuses -CookieName without -CookieValue or -CookieRegex, and both together, at binding (parameter sets; issue #27 item 8)' {
        $before = Get-ClusterFingerprint
        { Set-CanaryHeaderRoute shop -Namespace shop -CookieName beta -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Kubestead.PowerShell.SetCanaryHeaderRouteCommand'
        { Set-CanaryHeaderRoute shop -Namespace shop -CookieName beta -CookieValue always -CookieRegex 'a.*' -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Kubestead.PowerShell.SetCanaryHeaderRouteCommand'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'keeps header and cookie parameters apart (parameter sets) and -CookieValue needs -CookieName' {
        $before = Get-ClusterFingerprint
        { Set-CanaryHeaderRoute shop -Namespace shop -HeaderName x-beta -CookieName beta -CookieValue always -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Kubestead.PowerShell.SetCanaryHeaderRouteCommand'
        $r = Invoke-ChildPwsh "Import-Module '$(Get-TestModulePath)'; Set-CanaryHeaderRoute shop -Namespace shop -CookieValue always -Confirm:`$false" -Environment @{ KUBECONFIG = $env:KUBECONFIG }
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'CookieName'
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'refuses a cookie Kubestead cannot write (bad name), naming it, and writes nothing' {
        $before = Get-ClusterFingerprint
        Set-CanaryHeaderRoute shop -Namespace shop -CookieName 'be ta' -CookieValue always -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        "$($errs[0])" | Should -Match "cookie name 'be ta'"
        Get-ClusterFingerprint | Should -Be $before
    }

    It 'lists the two syntaxes in help (header, cookie)' {
        $sets = (Get-Command Set-CanaryHeaderRoute).ParameterSets
        $sets.Name | Sort-Object | Should -Be @('CookieRegex', 'CookieValue', 'Header')
        ($sets | Where-Object Name -eq 'CookieValue').Parameters.Name | Should -Not -Contain 'HeaderName'
        ($sets | Where-Object Name -eq 'CookieValue').Parameters.Name | Should -Not -Contain 'CookieRegex'
        ($sets | Where-Object Name -eq 'CookieRegex').Parameters.Name | Should -Not -Contain 'CookieValue'
        ($sets | Where-Object Name -eq 'Header').Parameters.Name | Should -Not -Contain 'CookieName'
    }
}
