#Requires -Version 7.4
# Every cluster cmdlet against a live sandbox cluster (kubestead sandbox, started once per mesh), on six meshes.
BeforeDiscovery {
    $meshes = @(
        @{ Mesh = 'istio'; Weight = 20; HeaderRoutes = $true }
        @{ Mesh = 'linkerd'; Weight = 20; HeaderRoutes = $true }
        @{ Mesh = 'smi'; Weight = 20; HeaderRoutes = $false }
        @{ Mesh = 'none'; Weight = 50; HeaderRoutes = $false }
        @{ Mesh = 'nginx'; Weight = 20; HeaderRoutes = $true }
        # Linkerd 1.x: the dtab lives in the sandbox's emulated namerd (its address on the sandbox object).
        @{ Mesh = 'linkerd1'; Weight = 20; HeaderRoutes = $true }
    )
}

BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $savedKubeconfig = $env:KUBECONFIG
}

AfterAll { $env:KUBECONFIG = $savedKubeconfig }

Describe 'A rollout on <Mesh>' -ForEach $meshes {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider $Mesh -CliPath (Get-TestCliPath) -Confirm:$false
        Set-TestNamerd $sandbox.NamerdAddress
        $spec = New-TestSpec -Path (Join-Path $TestDrive "$Mesh.yaml") -Mesh $Mesh
    }
    AfterAll { $sandbox | Stop-KubesteadSandbox -Confirm:$false; Set-TestNamerd $null }

    It 'writes nothing with -WhatIf' {
        $before = Get-ClusterFingerprint
        Start-KubesteadRollout $spec -WhatIf
        Get-ClusterFingerprint | Should -Be $before
        Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'starts and pauses for a person at 10%, releasing the Lease when it returns' {
        $r = Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue
        $r | Should -BeOfType Kubestead.PowerShell.KubesteadRollout
        $r.Phase | Should -Be 'Paused'
        $r.PauseReason | Should -Be 'Manual'
        $r.CanaryWeight | Should -Be 10
        $r.MeshProvider | Should -Be $Mesh
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty
    }

    It 'reads the weight through the pipeline (Get | Get-CanaryWeight)' {
        (Get-KubesteadRollout shop -Namespace shop | Get-CanaryWeight).CanaryWeightPercent | Should -Be 10
    }

    It 'sets the weight through the pipeline (Get | Set-CanaryWeight -PassThru)' {
        $w = Get-KubesteadRollout shop -Namespace shop | Set-CanaryWeight $Weight -PassThru -Confirm:$false
        $w | Should -BeOfType Kubestead.PowerShell.CanaryWeight
        $w.CanaryWeightPercent | Should -Be $Weight
        (Get-CanaryWeight shop -Namespace shop).CanaryWeightPercent | Should -Be $Weight
    }

    It 'reads the analysis through the pipeline (Get | Get-CanaryAnalysis)' {
        { Get-KubesteadRollout shop -Namespace shop | Get-CanaryAnalysis -ErrorAction Stop } | Should -Not -Throw
    }

    It 'shows the GitOps settings for the objects it changes' {
        $g = Get-KubesteadRollout shop -Namespace shop | Get-KubesteadGitOpsConfig
        $g.Name | Should -Be 'shop'
        $g.ManagedFields.Count | Should -BeGreaterThan 0
    }

    It 'adds and removes a header route where the mesh has them, and refuses clearly where not' {
        if ($HeaderRoutes) {
            $r = Set-CanaryHeaderRoute shop -Namespace shop -RouteName testers -Confirm:$false -PassThru
            $r.Name | Should -Be 'shop'
            $r = Remove-CanaryHeaderRoute shop -Namespace shop -RouteName testers -Confirm:$false -PassThru
            $r.Name | Should -Be 'shop'
        } else {
            $before = Get-ClusterFingerprint
            # -WhatIf plans with the write's own validation: it refuses the same way, instead of listing a patch.
            Set-CanaryHeaderRoute shop -Namespace shop -RouteName testers -WhatIf -ErrorVariable planErrs -ErrorAction SilentlyContinue
            Set-CanaryHeaderRoute shop -Namespace shop -RouteName testers -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
            $planErrs.Count | Should -Be 1
            $planErrs[0].FullyQualifiedErrorId | Should -Be $errs[0].FullyQualifiedErrorId
            $errs.Count | Should -Be 1
            $errs[0].Exception.Message | Should -Match 'header'
            Get-ClusterFingerprint | Should -Be $before
        }
    }

    It 'routes by cookie where the mesh can (-CookieName), writes nothing with -WhatIf, and refuses clearly where not' {
        $before = Get-ClusterFingerprint
        Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName session -CookieRegex 'beta-[0-9]+' -WhatIf -ErrorVariable planErrs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-ClusterFingerprint | Should -Be $before
        # The plan refuses exactly where the write refuses (nginx cannot match a regex, SMI and no mesh no cookie at all).
        if ($Mesh -in 'istio', 'linkerd', 'linkerd1') { $planErrs | Should -BeNullOrEmpty } else { $planErrs.Count | Should -Be 1 }
        $regex = '^(.*;\s*)?session=(beta-[0-9]+)(;.*)?$'
        switch ($Mesh) {
            'istio' {
                Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName session -CookieRegex 'beta-[0-9]+' -Confirm:$false | Out-Null
                $vs = Get-SandboxObject '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/shop'
                @($vs.spec.http.match.headers.cookie.regex) | Should -Be @($regex)
                Remove-CanaryHeaderRoute shop -Namespace shop -RouteName beta -Confirm:$false | Out-Null
                $vs = Get-SandboxObject '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/shop'
                @($vs.spec.http.match.headers.cookie | Where-Object { $_ }).Count | Should -Be 0 -Because "the route is gone"
            }
            'linkerd' {
                Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName session -CookieRegex 'beta-[0-9]+' -Confirm:$false | Out-Null
                $routes = (Get-SandboxObject '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes').items
                $cookie = @($routes.spec.rules.matches.headers | Where-Object name -eq 'cookie')
                $cookie.Count | Should -Be 1
                $cookie[0].type | Should -Be 'RegularExpression'
                $cookie[0].value | Should -Be $regex
                Remove-CanaryHeaderRoute shop -Namespace shop -RouteName beta -Confirm:$false | Out-Null
            }
            'nginx' {
                # ingress-nginx routes by cookie only on the value "always": a regex cannot be expressed.
                Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName session -CookieRegex 'beta-[0-9]+' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
                $errs.Count | Should -Be 1
                $errs[0].FullyQualifiedErrorId | Should -BeLike 'NginxCookieRegex,*'
                $planErrs[0].FullyQualifiedErrorId | Should -BeLike 'NginxCookieRegex,*'
                # A cookie value other than "always" is refused by the plan as by the write.
                Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName canary_user -CookieValue beta -WhatIf -ErrorVariable planErrs -ErrorAction SilentlyContinue
                $planErrs.Count | Should -Be 1
                $planErrs[0].FullyQualifiedErrorId | Should -BeLike 'NginxCookieValue,*'
                "$($errs[0])" | Should -Match 'cookie session matching beta-\[0-9\]\+'
                Get-ClusterFingerprint | Should -Be $before
                Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName canary_user -CookieValue always -Confirm:$false | Out-Null
                $ingress = Get-SandboxObject '/apis/networking.k8s.io/v1/namespaces/shop/ingresses/shop-canary'
                $ingress.metadata.annotations.'nginx.ingress.kubernetes.io/canary-by-cookie' | Should -Be 'canary_user'
                Remove-CanaryHeaderRoute shop -Namespace shop -RouteName beta -Confirm:$false | Out-Null
                $ingress = Get-SandboxObject '/apis/networking.k8s.io/v1/namespaces/shop/ingresses/shop-canary'
                $ingress.metadata.annotations.'nginx.ingress.kubernetes.io/canary-by-cookie' | Should -BeNullOrEmpty
            }
            'linkerd1' {
                # The client chooses the route with l5d-dtab; the match (here a cookie) is not written anywhere.
                $r = Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName canary_user -CookieValue always -Confirm:$false -PassThru
                $r.RequestHeaders['l5d-dtab'] | Should -Be '/svc/shop => /env/prod/shop-canary'
                ($before -split ';' | Where-Object { $_ -like 'namerd/*' }) | Should -Be ((Get-ClusterFingerprint) -split ';' | Where-Object { $_ -like 'namerd/*' })
                Remove-CanaryHeaderRoute shop -Namespace shop -RouteName beta -Confirm:$false | Out-Null
            }
            default {
                Set-CanaryHeaderRoute shop -Namespace shop -RouteName beta -CookieName canary_user -CookieValue always -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
                $errs.Count | Should -Be 1
                "$($errs[0])" | Should -Match '\(cookie canary_user\).*cookie'
                Get-ClusterFingerprint | Should -Be $before
            }
        }
    }

    It 'stops nothing with Get -Namespace | Stop -WhatIf' {
        $before = Get-ClusterFingerprint
        Get-KubesteadRollout -Namespace shop | Stop-KubesteadRollout -WhatIf
        Get-ClusterFingerprint | Should -Be $before
        (Get-KubesteadRollout shop -Namespace shop).Phase | Should -Be 'Paused'
    }

    It 'resumes to the end and promotes (Get | Resume)' {
        $r = Get-KubesteadRollout shop -Namespace shop | Resume-KubesteadRollout -Confirm:$false -ErrorVariable errs
        $r.Phase | Should -Be 'Completed'
        $errs | Should -BeNullOrEmpty
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty
    }

    It 'aborts a second rollout with -Force and returns all traffic to stable' {
        $second = New-TestSpec -Path (Join-Path $TestDrive "$Mesh-2.yaml") -Mesh $Mesh -Image 'registry.example.com/shop:3.0.0'
        (Start-KubesteadRollout $second -Confirm:$false -WarningAction SilentlyContinue).Phase | Should -Be 'Paused'
        $r = Stop-KubesteadRollout shop -Namespace shop -Force
        $r.Phase | Should -Be 'Aborted'
        $r.CanaryWeight | Should -Be 0
        Get-RolloutLeaseHolder | Should -BeNullOrEmpty
    }
}

Describe 'Cmdlets that read the cluster (istio sandbox)' {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
        $spec = New-TestSpec -Path (Join-Path $TestDrive 'shop.yaml') -Mesh istio
    }
    AfterAll { $sandbox | Stop-KubesteadSandbox -Confirm:$false }

    It 'scaffolds a spec from the cluster that validates (New-KubesteadRolloutSpec | Set-Content | Test)' {
        $yaml = New-KubesteadRolloutSpec shop -Namespace shop
        $yaml | Should -Match 'meshProvider: istio'
        $file = Join-Path $TestDrive 'scaffolded.yaml'
        $yaml | Set-Content $file
        Test-KubesteadRollout $file -Quiet | Should -BeTrue
    }

    It 'checks a spec against the cluster (Test -Cluster)' {
        $checks = Test-KubesteadRollout $spec -Cluster
        $checks | Should -Not -BeNullOrEmpty
        $checks.Outcome | Should -Not -Contain 'Failed'
    }

    It 'completes a rollout with -Force -NoWait, then Wait drives it to the end' {
        (Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue).Phase | Should -Be 'Paused'
        $p = Complete-KubesteadRollout shop -Namespace shop -Force -NoWait
        $p.Phase | Should -BeIn @('Promoting', 'Completed')
        $w = Get-KubesteadRollout shop -Namespace shop | Wait-KubesteadRollout -Timeout 60
        $w.Phase | Should -Be 'Completed'
    }

    It 'suspends a progressing rollout' {
        $timed = New-TestSpec -Path (Join-Path $TestDrive 'timed.yaml') -Mesh istio -Steps 'setWeight: 10', 'pause: { duration: 1h }'
        (Start-KubesteadRollout $timed -NoWait -Confirm:$false).Phase | Should -Be 'Progressing'
        $s = Suspend-KubesteadRollout shop -Namespace shop -Confirm:$false -PassThru
        $s.Phase | Should -Be 'Paused'
        $s.PauseReason | Should -Be 'Manual'
        Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null
    }

    It 'lists rollouts in all namespaces' {
        @(Get-KubesteadRollout -AllNamespaces).Name | Should -Contain 'shop'
    }

    It 'formats rollouts in columns named as their properties' {
        $text = Get-KubesteadRollout -Namespace shop | Out-String
        $text | Should -MatchExactly 'Namespace\s+Name\s+MeshProvider\s+Phase\s+Step\s+CanaryWeight'
        $text | Should -Match 'shop\s+shop\s+istio\s+Aborted'
    }

    It 'converts to JSON with the documented shape' {
        $json = Get-KubesteadRollout shop -Namespace shop | ConvertTo-Json -Depth 5 | ConvertFrom-Json
        foreach ($p in 'Name', 'Namespace', 'Phase', 'MeshProvider', 'Step', 'StepCount', 'StableWeight', 'CanaryWeight', 'Verdicts', 'History', 'StartedAt') {
            $json.PSObject.Properties.Name | Should -Contain $p
        }
        $json.History.Count | Should -BeGreaterThan 0
        $json.History[0].PSObject.Properties.Name | Should -Contain 'Kind'
    }

    It 'completes rollout names from the cluster' {
        $line = 'Get-KubesteadRollout -Namespace shop sh'
        $c = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $c.CompletionMatches.CompletionText | Should -Contain 'shop'
    }
}

Describe 'Get-CanaryAnalysis with background analysis (istio sandbox)' {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
        $spec = Join-Path $TestDrive 'background.yaml'
        # A sequential metric: background analysis is on by default, so one e-process counts every window of the rollout.
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
  canary: { image: registry.example.com/shop:2.5.0 }
  scaleDownDelay: 0s
  steps:
    - setWeight: 50
    - analysis: { duration: 10s }
    - pause: {}
  analysis:
    interval: 5s
    metrics:
      - name: error-rate
        provider: { simulated: {} }
        judge: { sequential: { alpha: 0.05, detectRatio: 5 } }
  policies: { onInsufficientData: pause }
'@ | Set-Content $spec
        $started = Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue
    }
    AfterAll { $sandbox | Stop-KubesteadSandbox -Confirm:$false }

    It 'returns the step verdicts and the background verdicts, told apart by Scope' {
        $started.Phase | Should -Be 'Paused'
        $v = @(Get-CanaryAnalysis shop -Namespace shop)
        $v | Should -HaveCount 2
        $v | ForEach-Object { $_ | Should -BeOfType Kubestead.PowerShell.CanaryVerdict }
        $step = $v | Where-Object Scope -EQ 'step'
        $background = $v | Where-Object Scope -EQ 'background'
        $step.Metric | Should -Be 'error-rate'
        $background.Metric | Should -Be 'error-rate'
        $background.Name | Should -Be 'shop'
        # The background e-process counted every window of the rollout; the step judge only its step's.
        $background.CanaryRequests | Should -BeGreaterThan 0
        $background.CanaryRequests | Should -BeGreaterOrEqual $step.CanaryRequests
    }

    It 'shows the scope in the default table' {
        $text = Get-CanaryAnalysis shop -Namespace shop | Out-String -Width 250
        $text | Should -MatchExactly 'Metric\s+Judge\s+Scope\s+Outcome\s+CanaryFailures\s+CanaryRequests\s+Summary'
        $text | Should -Match 'error-rate\s+\S+\s+step\s'
        $text | Should -Match 'error-rate\s+\S+\s+background\s'
    }

    It 'marks the scope on Get-KubesteadRollout''s verdicts too' {
        $r = Get-KubesteadRollout shop -Namespace shop
        $r.BackgroundVerdicts.Scope | Should -Be 'background'
        $r.Verdicts.Scope | Should -Be 'step'
    }
}
