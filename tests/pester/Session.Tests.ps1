#Requires -Version 7.4
# The connections a session keeps between cmdlets (issue #33): a second cmdlet reuses the parsed kubeconfig, the
# credentials and the HTTP client, and anything that would change where or as whom it connects is noticed at the next
# cmdlet: the kubeconfig file's content (even rewritten with the same size and timestamp), -Context, $env:KUBECONFIG,
# and the certificate files the kubeconfig names by path. A few connections are kept (least recently used dropped), so
# alternating contexts does not reconnect; removing the module closes them.
# A stand-in API server on 127.0.0.1 records the bearer token (or client certificate) of every request and counts the
# TCP connections it accepted and still has open, so a change that was ignored shows up as the old credential and a
# reconnect as a new connection; an exec credential plugin counts its runs, one per connection made.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    if (-not ('KubesteadTest.SessionApiServer' -as [type])) { Add-Type -Path "$PSScriptRoot/SessionTestServers.cs" }
    $server = [KubesteadTest.SessionApiServer]::new($null)

    # A kubeconfig for the stand-in server: one context per token (named like the token), the first one current.
    function New-TestKubeconfig([string] $Path, [string[]] $Tokens, [string] $ExecScript) {
        $users = if ($ExecScript) {
            "- name: u-exec`n  user:`n    exec:`n      apiVersion: client.authentication.k8s.io/v1beta1`n      command: $ExecScript`n      interactiveMode: Never"
        } else { ($Tokens | ForEach-Object { "- name: u-$_`n  user:`n    token: $_" }) -join "`n" }
        $names = @(if ($ExecScript) { 'exec' } else { $Tokens })
        $contexts = ($names | ForEach-Object { "- name: $_`n  context:`n    cluster: stand-in`n    user: u-$_" }) -join "`n"
        @"
apiVersion: v1
kind: Config
clusters:
- name: stand-in
  cluster:
    server: http://127.0.0.1:$($server.Port)
users:
$users
contexts:
$contexts
current-context: $($names[0])
"@ | Set-Content -LiteralPath $Path -NoNewline
    }
    # The token of the request the last cmdlet made (each Get-KubesteadRollout -Namespace makes one LIST).
    function Get-LastToken { $t = $null; $last = $null; while ($server.Tokens.TryDequeue([ref] $t)) { $last = $t }; $last }
    $savedKubeconfig = $env:KUBECONFIG
}

AfterAll {
    $env:KUBECONFIG = $savedKubeconfig
    $server.Dispose()
}

Describe 'A session''s kept connection' {
    It 'serves the next cmdlets: the exec credential plugin runs once for three cmdlets' {
        $count = Join-Path $TestDrive 'plugin-runs.txt'
        $plugin = Join-Path $TestDrive 'plugin.sh'
        "#!/bin/sh`necho run >> '$count'`nprintf '%s' '{""apiVersion"":""client.authentication.k8s.io/v1beta1"",""kind"":""ExecCredential"",""status"":{""token"":""exec-token""}}'`n" | Set-Content -LiteralPath $plugin -NoNewline
        chmod +x $plugin
        $kubeconfig = Join-Path $TestDrive 'exec.yaml'
        New-TestKubeconfig $kubeconfig -ExecScript $plugin
        $null = Get-LastToken
        1..3 | ForEach-Object { Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop }
        @(Get-Content -LiteralPath $count).Count | Should -Be 1
        Get-LastToken | Should -Be 'exec-token'
    }

    It 'notices a kubeconfig rewritten with the same size and timestamp' {
        $kubeconfig = Join-Path $TestDrive 'rewritten.yaml'
        New-TestKubeconfig $kubeconfig -Tokens 'token-aaaa'
        Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'token-aaaa'
        $stamp = (Get-Item -LiteralPath $kubeconfig).LastWriteTimeUtc
        New-TestKubeconfig $kubeconfig -Tokens 'token-bbbb'
        (Get-Item -LiteralPath $kubeconfig).LastWriteTimeUtc = $stamp
        Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'token-bbbb'
    }

    It 'notices another -Context, and the first one again' {
        $kubeconfig = Join-Path $TestDrive 'contexts.yaml'
        New-TestKubeconfig $kubeconfig -Tokens 'context-one', 'context-two'
        Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'context-one'
        Get-KubesteadRollout -KubeConfig $kubeconfig -Context context-two -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'context-two'
        Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'context-one'
    }

    It 'notices another $env:KUBECONFIG' {
        $first = Join-Path $TestDrive 'env-first.yaml'
        $second = Join-Path $TestDrive 'env-second.yaml'
        New-TestKubeconfig $first -Tokens 'env-first'
        New-TestKubeconfig $second -Tokens 'env-second'
        $env:KUBECONFIG = $first
        Get-KubesteadRollout -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'env-first'
        $env:KUBECONFIG = $second
        Get-KubesteadRollout -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'env-second'
    }

    It 'keeps one request per cmdlet when the connection is reused' {
        $kubeconfig = Join-Path $TestDrive 'count.yaml'
        New-TestKubeconfig $kubeconfig -Tokens 'counted'
        $null = Get-LastToken
        1..4 | ForEach-Object { Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop }
        $server.Tokens.Count | Should -Be 4
    }
}

Describe 'The connections a session keeps' {
    It 'are several: alternating between two contexts connects once to each' {
        $kubeconfig = Join-Path $TestDrive 'alternate.yaml'
        New-TestKubeconfig $kubeconfig -Tokens 'alt-one', 'alt-two'
        $accepted = $server.Accepted
        foreach ($context in 'alt-one', 'alt-two', 'alt-one', 'alt-two', 'alt-one') {
            Get-KubesteadRollout -KubeConfig $kubeconfig -Context $context -Namespace shop -ErrorAction Stop
            Get-LastToken | Should -Be $context
        }
        $server.Accepted - $accepted | Should -Be 2
    }

    It 'are at most four: the least recently used is closed, and connects anew when used again' {
        $kubeconfig = Join-Path $TestDrive 'five.yaml'
        $contexts = 1..5 | ForEach-Object { "lru-$_" }
        New-TestKubeconfig $kubeconfig -Tokens $contexts
        foreach ($context in $contexts) { Get-KubesteadRollout -KubeConfig $kubeconfig -Context $context -Namespace shop -ErrorAction Stop }
        # Every older connection to this server was dropped (from this test's or earlier ones' contexts) and closed.
        Wait-Until { $server.Open -eq 4 } -TimeoutSeconds 20 | Should -BeTrue -Because "four connections stay open ($($server.Open) are)"
        $accepted = $server.Accepted
        Get-KubesteadRollout -KubeConfig $kubeconfig -Context lru-5 -Namespace shop -ErrorAction Stop
        Get-KubesteadRollout -KubeConfig $kubeconfig -Context lru-2 -Namespace shop -ErrorAction Stop
        $server.Accepted | Should -Be $accepted
        Get-KubesteadRollout -KubeConfig $kubeconfig -Context lru-1 -Namespace shop -ErrorAction Stop
        Get-LastToken | Should -Be 'lru-1'
        $server.Accepted | Should -Be ($accepted + 1)
    }
}

Describe 'Certificate files a kubeconfig names by path' {
    BeforeAll {
        $pkiDirectory = Join-Path $TestDrive 'pki'
        $null = New-Item -ItemType Directory -Path $pkiDirectory
        $pki = [KubesteadTest.TestPki]::new($pkiDirectory)
        $tlsServer = [KubesteadTest.SessionApiServer]::new($pki.ServerCertificate)
        $pki.WriteClientCertificate('first-client', (Join-Path $pkiDirectory 'client.pem'), (Join-Path $pkiDirectory 'client.key'))
        # Relative paths, read against the kubeconfig's directory.
        $tlsKubeconfig = Join-Path $TestDrive 'tls.yaml'
        @"
apiVersion: v1
kind: Config
clusters:
- name: tls
  cluster:
    server: https://127.0.0.1:$($tlsServer.Port)
    certificate-authority: pki/ca.pem
users:
- name: certificate
  user:
    client-certificate: pki/client.pem
    client-key: pki/client.key
contexts:
- name: tls
  context: { cluster: tls, user: certificate }
current-context: tls
"@ | Set-Content -LiteralPath $tlsKubeconfig -NoNewline
        function Get-LastSubject { $s = $null; $last = $null; while ($tlsServer.ClientSubjects.TryDequeue([ref] $s)) { $last = $s }; $last }
    }

    AfterAll {
        $tlsServer.Dispose()
        $pki.Dispose()
    }

    It 'notices a rotated client certificate and key: the next cmdlet presents the new one' {
        Get-KubesteadRollout -KubeConfig $tlsKubeconfig -Namespace shop -ErrorAction Stop
        Get-LastSubject | Should -Be 'CN=first-client'
        $pki.WriteClientCertificate('rotated-client', (Join-Path $pkiDirectory 'client.pem'), (Join-Path $pkiDirectory 'client.key'))
        Get-KubesteadRollout -KubeConfig $tlsKubeconfig -Namespace shop -ErrorAction Stop
        Get-LastSubject | Should -Be 'CN=rotated-client'
    }

    It 'notices a changed certificate-authority file: the next cmdlet connects anew' {
        Get-KubesteadRollout -KubeConfig $tlsKubeconfig -Namespace shop -ErrorAction Stop
        $accepted = $tlsServer.Accepted
        Get-KubesteadRollout -KubeConfig $tlsKubeconfig -Namespace shop -ErrorAction Stop
        $tlsServer.Accepted | Should -Be $accepted -Because 'an unchanged CA file keeps the connection'
        $pki.AddUnrelatedCa()
        Get-KubesteadRollout -KubeConfig $tlsKubeconfig -Namespace shop -ErrorAction Stop
        $tlsServer.Accepted | Should -Be ($accepted + 1)
    }
}

Describe 'Removing the module' {
    It 'closes the kept connections (Remove-Module, then Import-Module -Force)' {
        $kubeconfig = Join-Path $TestDrive 'removal.yaml'
        New-TestKubeconfig $kubeconfig -Tokens 'removal'
        Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop
        $server.Open | Should -BeGreaterThan 0
        try {
            Remove-Module Kubestead
            Wait-Until { $server.Open -eq 0 } -TimeoutSeconds 20 | Should -BeTrue -Because "Remove-Module closes them ($($server.Open) still open)"
        } finally {
            Import-Module (Get-TestModulePath) -Force
        }
        Get-KubesteadRollout -KubeConfig $kubeconfig -Namespace shop -ErrorAction Stop
        $server.Open | Should -Be 1
        Import-Module (Get-TestModulePath) -Force
        Wait-Until { $server.Open -eq 0 } -TimeoutSeconds 20 | Should -BeTrue -Because "Import-Module -Force closes them ($($server.Open) still open)"
    }
}

# The cmdlet gives its connection back to the session only after the Kubernetes Events it recorded are written (at most
# 5 s): a script whose process exits right after it must not lose them. A proxy holds each Event write for a second, so
# a cmdlet that returned without waiting would leave it unanswered.
Describe 'Kubernetes Events a cmdlet records' {
    BeforeAll {
        $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
        $null = Start-KubesteadRollout (New-TestSpec -Path (Join-Path $TestDrive 'events.yaml')) -Confirm:$false -WarningAction SilentlyContinue
        $sandboxPort = [regex]::Match((Get-Content -Raw -LiteralPath $sandbox.KubeConfig), 'server:\s*http://127\.0\.0\.1:(\d+)').Groups[1].Value
        $proxy = [KubesteadTest.EventHoldingProxy]::new([int] $sandboxPort, [TimeSpan]::FromSeconds(1))
        $proxied = Join-Path $TestDrive 'proxied.yaml'
        (Get-Content -Raw -LiteralPath $sandbox.KubeConfig) -replace "127\.0\.0\.1:$sandboxPort", "127.0.0.1:$($proxy.Port)" |
            Set-Content -LiteralPath $proxied -NoNewline
    }

    AfterAll {
        $proxy.Dispose()
        $sandbox | Stop-KubesteadSandbox -Confirm:$false
    }

    It 'are written before the cmdlet returns' {
        $null = Stop-KubesteadRollout shop -Namespace shop -KubeConfig $proxied -Force -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue
        $proxy.EventWritesAnswered | Should -BeGreaterThan 0
    }
}
