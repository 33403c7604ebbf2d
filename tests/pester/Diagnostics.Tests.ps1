#Requires -Version 7.4
# What a cmdlet says about its requests and errors (issue #27 item 9): a debug line per API request (method, path,
# status; never a credential) carrying the rollout's name, -Debug that never prompts, an error's TargetObject that is the
# input, and one mapping from a Kubernetes status reason to both the error's category and its recommended action.
# The cluster is a responder on 127.0.0.1 answering a Status: 400 BadRequest for the rollout 'bad', 404 for the rest.
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    $modulePath = Get-TestModulePath
    Import-Module $modulePath -Force
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $http = [System.Net.HttpListener]::new()
    $http.Prefixes.Add("http://127.0.0.1:$port/")
    $http.Start()
    # Answers on its own runspace until the listener stops.
    $responder = [powershell]::Create()
    $null = $responder.AddScript({
            param($http)
            while ($http.IsListening) {
                try { $ctx = $http.GetContext() } catch { break }
                $bad = $ctx.Request.Url.AbsolutePath -like '*kubestead-bad*'
                $code = if ($bad) { 400 } else { 404 }
                $reason = if ($bad) { 'BadRequest' } else { 'NotFound' }
                $body = [Text.Encoding]::UTF8.GetBytes("{`"kind`":`"Status`",`"apiVersion`":`"v1`",`"status`":`"Failure`",`"message`":`"answered $code`",`"reason`":`"$reason`",`"code`":$code}")
                $ctx.Response.StatusCode = $code
                $ctx.Response.ContentType = 'application/json'
                $ctx.Response.OutputStream.Write($body, 0, $body.Length)
                $ctx.Response.Close()
            }
        }).AddArgument($http)
    $running = $responder.BeginInvoke()
    $kubeconfig = Join-Path $TestDrive 'responder.yaml'
    @"
apiVersion: v1
kind: Config
clusters:
- name: responder
  cluster:
    server: http://127.0.0.1:$port
users:
- name: u
  user:
    token: secret-token-never-printed
contexts:
- name: responder
  context:
    cluster: responder
    user: u
    namespace: shop
current-context: responder
"@ | Set-Content $kubeconfig

    # Runs a script in a runspace of its own and returns its streams.
    function Invoke-Streams([string] $Script) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$modulePath'; $Script")
            $out = $ps.Invoke()
            [pscustomobject]@{ Output = $out; Debug = @($ps.Streams.Debug | ForEach-Object Message); Verbose = @($ps.Streams.Verbose | ForEach-Object Message); Errors = @($ps.Streams.Error) }
        } finally { $ps.Dispose() }
    }
}

AfterAll {
    $http.Stop()
    $null = $running.AsyncWaitHandle.WaitOne(10000)
    $responder.Dispose()
}

Describe 'Debug and verbose lines' {
    It 'writes a debug line per API request with method, path, status and the rollout''s name, never the token, and none to verbose' {
        $r = Invoke-Streams "Get-KubesteadRollout shop -KubeConfig '$kubeconfig' -Debug -Verbose -ErrorAction Continue"
        $r.Errors.Count | Should -Be 1 -Because 'the rollout does not exist (404)'
        $line = @($r.Debug | Where-Object { $_ -match 'GET /api/v1/namespaces/shop/configmaps/kubestead-shop -> 404' })
        $line.Count | Should -BeGreaterThan 0 -Because ($r.Debug -join "`n")
        $line[0] | Should -Match '^\d\d:\d\d:\d\d shop/shop GET ' -Because 'the line names the rollout it is for'
        @($r.Verbose | Where-Object { $_ -match ' -> \d{3} ' }) | Should -BeNullOrEmpty -Because 'request lines are debug, not verbose'
        (($r.Debug + $r.Verbose + ($r.Errors | ForEach-Object { "$_" })) -join "`n") | Should -Not -Match 'secret-token-never-printed'
    }

    It 'does not prompt with -Debug in a session that cannot prompt (-NonInteractive): the debug lines are written, nothing is asked' {
        $r = Invoke-ChildPwsh "Import-Module '$modulePath'; Get-KubesteadRollout shop -KubeConfig '$kubeconfig' -Debug -Verbose -ErrorAction SilentlyContinue 5>&1 4>&1 | ForEach-Object { `"`$_`" }; 'end'"
        $r.Output | Should -Match 'GET /api/v1/namespaces/shop/configmaps/kubestead-shop -> 404'
        $r.Output | Should -Not -Match 'Confirm|Continue with this operation|prompt' -Because $r.Output
        $r.Output | Should -Match 'end$'
    }
}

Describe 'Errors' {
    It 'targets the input: the -Name given, and the name bound from a piped object (not the ConfigMap''s description)' {
        Get-KubesteadRollout nope -KubeConfig $kubeconfig -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].TargetObject | Should -BeExactly 'nope'
        [pscustomobject]@{ Name = 'piped'; Namespace = 'shop' } | Get-CanaryWeight -KubeConfig $kubeconfig -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].TargetObject | Should -BeExactly 'piped'
        "$($errs[0])" | Should -Match 'kubestead-piped' -Because 'the object at fault stays named in the message'
    }

    It 'targets the spec file an error is about' {
        $spec = New-TestSpec -Path (Join-Path $TestDrive 'bad.yaml') -Name 'bad'
        Start-KubesteadRollout $spec -KubeConfig $kubeconfig -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -BeGreaterThan 0
        $errs[0].TargetObject | Should -BeExactly (Resolve-Path $spec).Path
    }

    It 'derives the category and the recommended action of a Kubernetes status from one kind (400 BadRequest: invalid input)' {
        Get-KubesteadRollout bad -KubeConfig $kubeconfig -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument' -Because "$($errs[0].FullyQualifiedErrorId): $($errs[0])"
        $errs[0].ErrorDetails.RecommendedAction | Should -Match '^Correct the named field or parameter'
    }
}
