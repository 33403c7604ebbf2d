#Requires -Version 7.4
# Issue 27 item 2: a server that accepts connections and never answers. Every request is bounded (30 s by default),
# -TimeoutSec sets the bound as kubectl's --request-timeout does, and the failure names the server. The kernel completes
# the TCP handshake for a listener that never accepts, so the request is sent and waits for an answer that never comes.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
    $silent = Join-Path $TestDrive 'silent.yaml'
    @"
apiVersion: v1
kind: Config
current-context: silent
clusters: [{ name: silent, cluster: { server: "http://127.0.0.1:$port" } }]
users: [{ name: u, user: { token: not-a-real-token } }]
contexts: [{ name: silent, context: { cluster: silent, user: u, namespace: shop } }]
"@ | Set-Content $silent
}

AfterAll {
    $listener.Stop()
}

Describe 'A server that accepts connections and never answers' {
    It 'is reported unavailable within -TimeoutSec, naming the server' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $caught = $null
        try { Get-KubesteadRollout shop -Namespace shop -KubeConfig $silent -TimeoutSec 1 -ErrorAction Stop } catch { $caught = $_ }
        $watch.Stop()
        $caught | Should -Not -BeNullOrEmpty -Because 'a silent server is an error, not an empty answer'
        "$caught" | Should -Match ([regex]::Escape("127.0.0.1:$port"))
        "$caught" | Should -Match 'did not answer within 1s'
        # A bound on the hang itself (the old module waited for ever), not a speed target.
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 45
    }

    It 'refuses a negative -TimeoutSec before connecting' {
        { Get-KubesteadRollout shop -Namespace shop -KubeConfig $silent -TimeoutSec -1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,Kubestead.PowerShell.GetKubesteadRolloutCommand'
    }
}
