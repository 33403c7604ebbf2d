#Requires -Version 7.4
# The connection a session keeps between cmdlets (issue #33): a second cmdlet reuses the parsed kubeconfig, the
# credentials and the HTTP client, and anything that would change where or as whom it connects is noticed at the next
# cmdlet: the kubeconfig file's content (even rewritten with the same size and timestamp), -Context, $env:KUBECONFIG.
# A stand-in API server on 127.0.0.1 records the bearer token of every request, so a change that was ignored shows up
# as the old token; an exec credential plugin counts its runs, one per connection made.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    if (-not ('KubesteadTest.TokenRecordingApiServer' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
namespace KubesteadTest
{
    // Answers every request with an empty ConfigMap list and keeps the bearer token it carried.
    public sealed class TokenRecordingApiServer : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        public ConcurrentQueue<string> Tokens { get; } = new ConcurrentQueue<string>();
        public int Port { get; }
        public TokenRecordingApiServer()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Add("http://127.0.0.1:" + Port + "/");
            _listener.Start();
            Task.Run(Serve);
        }
        private async Task Serve()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); } catch (Exception) { return; }
                var auth = context.Request.Headers["Authorization"] ?? "";
                Tokens.Enqueue(auth.StartsWith("Bearer ") ? auth.Substring(7) : auth);
                var body = Encoding.UTF8.GetBytes("{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}");
                context.Response.ContentType = "application/json";
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body, 0, body.Length);
                context.Response.Close();
            }
        }
        public void Dispose() { _listener.Stop(); _listener.Close(); }
    }
}
'@
    }
    $server = [KubesteadTest.TokenRecordingApiServer]::new()

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
