#Requires -Version 7.4
# The help's examples run as written (issue #27): every example of docs/en-US, as Get-Help shows it, runs against an
# istio sandbox (the rollout shop in namespace shop) without an error. An example that needs what a sandbox cannot give
# (a real cluster's objects, a controller, a browser, a CI variable) says so in its page with a line
# "Not run against the sandbox: <why>"; it must still parse, and every Kubestead command in it must bind (static binding).
BeforeDiscovery {
    $root = (Resolve-Path "$PSScriptRoot/../..").Path
    $examples = foreach ($page in Get-ChildItem "$root/docs/en-US" -Filter '*-*.md') {
        $text = Get-Content -Raw $page.FullName
        $section = [regex]::Match($text, '(?s)## EXAMPLES(.*?)\n## PARAMETERS').Groups[1].Value
        $n = 0
        foreach ($m in [regex]::Matches($section, '(?s)### (Example \d+[^\n]*)\n```powershell\n(.*?)\n```(.*?)(?=\n### |\z)')) {
            $n++
            $skip = [regex]::Match($m.Groups[3].Value, 'Not run against the sandbox: ([^\n]+)')
            @{ Command = $page.BaseName; Number = $n; Title = $m.Groups[1].Value; Code = $m.Groups[2].Value; Skip = if ($skip.Success) { $skip.Groups[1].Value } else { $null } }
        }
    }
}

BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $savedKubeconfig = $env:KUBECONFIG
    $savedCli = $env:KUBESTEAD_CLI
    $savedLocation = Get-Location
    # The examples start sandboxes without -CliPath, as a user with the CLI installed would.
    $env:KUBESTEAD_CLI = Get-TestCliPath
    $sandbox = Start-KubesteadSandbox -MeshProvider istio -Confirm:$false
    $work = Join-Path $TestDrive 'work'
    New-Item -ItemType Directory -Path "$work/examples" -Force | Out-Null
    Copy-Item -Recurse (Join-Path (Get-TestRoot) 'examples/sandbox') "$work/examples/sandbox"
    $commands = @((Get-Module Kubestead).ExportedCmdlets.Keys)
    # Get-Help searches and parses the module's help on every call (0.4-3 s each on a loaded machine): each page's
    # examples are read from it once and shared by that page's tests.
    $shownExamples = @{}
    function Get-ShownExampleCode([string] $Command, [int] $Number) {
        if (-not $shownExamples.ContainsKey($Command)) { $shownExamples[$Command] = @((Get-Help $Command -Full).examples.example | ForEach-Object { "$($_.code)" }) }
        $shownExamples[$Command][$Number - 1]
    }

    # The sandbox examples start and stop sandboxes of their own. Each runs in a runspace of its own (a fresh session
    # state that imports the module by path, as a reader's session would), closed afterwards: a closing runspace stops
    # the sandboxes it started (SandboxRegistry), as the end of a child pwsh would, without a new process and a cold
    # module load per example. Errors come after the output, so any error fails the 'example ran' check.
    function Invoke-InFreshRunspace {
        param([Parameter(Mandatory)] [string] $Command, [hashtable] $Environment = @{})
        $saved = @{}
        foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
        $runspace = [runspacefactory]::CreateRunspace()
        $ps = $null
        try {
            $runspace.Open()
            $ps = [powershell]::Create($runspace)
            $null = $ps.AddScript("Set-Location -LiteralPath '$((Get-Location).ProviderPath)'`n$Command")
            $out = try { @($ps.Invoke() | ForEach-Object { "$_" }) } catch { "$($_.Exception.InnerException ?? $_.Exception)" }
            $errors = @($ps.Streams.Error | ForEach-Object { "$_" })
            [pscustomobject]@{ Output = (@($out) + $errors) -join "`n" }
        } finally {
            if ($ps) { $ps.Dispose() }
            $runspace.Dispose()
            foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        }
    }

    # The state an example expects before it runs: 'paused' (shop paused at 10% for a person, the default), 'progressing'
    # (shop driven by nobody, in a timed pause), 'approval' (waiting at an approval step), 'completed', 'none' (no rollout
    # running; ./rollout.yaml is a fresh spec), and extra steps (a header route that an example removes).
    #
    # Building a state costs an abort and a start (a canary to create, scale and route); about half the examples only
    # read (Get-*, Test-*, Export-*, -WhatIf, no cluster at all), so the state the previous example found is shared
    # with the next one that needs the same state when nothing changed since it was built: the same resourceVersions of
    # every object the cmdlets may touch, and the same ./rollout.yaml. Any write, even one an example did not mean to
    # make, moves a resourceVersion and the state is built afresh. 'progressing' is never shared: it is a timed pause.
    # (A hashtable the functions change in place: Pester calls them from each test's own scope.)
    $exampleStates = @{ Last = $null; Built = 0; Shared = 0 }
    $specPath = Join-Path $work 'rollout.yaml'
    function Get-ExampleStateFingerprint {
        $spec = if (Test-Path -LiteralPath $specPath) { Get-Content -Raw -LiteralPath $specPath } else { 'no spec' }
        "$(Get-ClusterFingerprint -Namespace shop)|$spec"
    }
    function Set-ExampleState {
        param([string] $State, [string[]] $HeaderRoutes = @())
        $key = "$State|$($HeaderRoutes -join ',')"
        $last = $exampleStates.Last
        # Pester empties TestDrive at the end of each example's Describe, ./rollout.yaml included: the spec the state was
        # built from is put back as it was (the same text), so only what the example itself changed counts.
        if ($last -and -not (Test-Path -LiteralPath $specPath)) { Set-Content -LiteralPath $specPath -Value $last.Spec -NoNewline }
        if ($State -ne 'progressing' -and $last -and $last.Key -eq $key -and $last.Fingerprint -eq (Get-ExampleStateFingerprint)) {
            $exampleStates.Shared++
            return
        }
        $exampleStates.Last = $null
        $r = Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue
        if ($r -and $r.Phase -notin 'Completed', 'Aborted', 'Failed') { Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null }
        $steps = switch ($State) {
            'progressing' { 'setWeight: 10', 'pause: { duration: 2s }' }
            'approval' { 'setWeight: 10', 'approval: {}', 'setWeight: 50' }
            'completed' { , 'setWeight: 10' }
            default { 'setWeight: 10', 'pause: {}' }
        }
        $spec = New-TestSpec -Path $specPath -Steps $steps
        if ($State -ne 'none') { Start-KubesteadRollout $spec -NoWait:($State -eq 'progressing') -Confirm:$false -WarningAction SilentlyContinue | Out-Null }
        foreach ($h in $HeaderRoutes) { Set-CanaryHeaderRoute shop -Namespace shop -RouteName $h -Confirm:$false | Out-Null }
        $exampleStates.Built++
        $exampleStates.Last = @{ Key = $key; Fingerprint = Get-ExampleStateFingerprint; Spec = Get-Content -Raw -LiteralPath $specPath }
    }

    # What each example needs first, by "Command#N" (or "Command" for all of its examples); the rest get 'paused'.
    $needs = @{
        'Approve-KubesteadRollout' = @{ State = 'approval' }
        'Wait-KubesteadRollout' = @{ State = 'progressing' }
        'Suspend-KubesteadRollout' = @{ State = 'progressing' }
        'Start-KubesteadRollout' = @{ State = 'none' }
        'Get-KubesteadRollout#2' = @{ State = 'completed' }
        'Remove-CanaryHeaderRoute#1' = @{ HeaderRoutes = @('canary-testers') }
        'Remove-CanaryHeaderRoute#2' = @{ HeaderRoutes = @('testers') }
    }
}

AfterAll {
    Write-Host "Help examples: $($exampleStates.Built) states built, $($exampleStates.Shared) shared (unchanged since built)"
    Set-Location $savedLocation
    $sandbox | Stop-KubesteadSandbox -Confirm:$false
    $env:KUBECONFIG = $savedKubeconfig
    $env:KUBESTEAD_CLI = $savedCli
}

Describe 'Help example <Command> <Title>' -ForEach $examples {
    It 'is what Get-Help shows' {
        $shown = Get-ShownExampleCode $Command $Number
        ($shown -replace '\r', '').Trim() | Should -Be ($Code -replace '\r', '').Trim()
    }

    It 'parses, and its Kubestead commands bind' {
        $tokens = $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $tokens, [ref] $errors)
        $errors | Should -BeNullOrEmpty
        $calls = $ast.FindAll({ param($a) $a -is [System.Management.Automation.Language.CommandAst] -and $a.GetCommandName() -in $commands }, $true)
        @($calls).Count | Should -BeGreaterThan 0 -Because 'an example of a cmdlet uses the cmdlet'
        foreach ($call in $calls) {
            $binding = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($call, $true)
            $binding.BindingExceptions.Keys | Should -BeNullOrEmpty -Because "$call"
        }
    }

    # A marked example gets only the two tests above (no skipped test stands in for it).
    if (-not $Skip) {
        It 'runs against the sandbox without an error' {
            $need = $needs["$Command#$Number"] ?? $needs[$Command] ?? @{}
            $env:KUBECONFIG = $sandbox.KubeConfig
            Set-ExampleState -State ($need.State ?? 'paused') -HeaderRoutes @($need.HeaderRoutes | Where-Object { $_ })
            Set-Location $work
            try {
                # Sandbox examples start and stop sandboxes of their own: in a runspace of their own, whose end stops what
                # they leave.
                if ($Command -like '*-KubesteadSandbox') {
                    # Stand-ins for what the example leaves to its reader: Pester's blocks, the runbook's own checks, a
                    # sandbox to stop.
                    $prelude = "function BeforeAll([scriptblock] `$s) { & `$s }; function AfterAll([scriptblock] `$s) { & `$s }; function Invoke-MyChecks { Get-KubesteadRollout -Namespace shop }"
                    if ("$Command#$Number" -eq 'Stop-KubesteadSandbox#1') { $prelude += '; $null = Start-KubesteadSandbox -Confirm:$false' }
                    $r = Invoke-InFreshRunspace "`$ErrorActionPreference = 'Stop'; Import-Module '$(Get-TestModulePath)'; $prelude`n$Code`n'example ran'" -Environment @{
                        KUBESTEAD_CLI = $env:KUBESTEAD_CLI
                        # Installed, as the example's reader has it: ForEach-Object -Parallel runspaces load it by name.
                        PSModulePath = (Split-Path (Split-Path (Get-TestModulePath))) + [IO.Path]::PathSeparator + $env:PSModulePath
                    }
                    $r.Output | Should -Match 'example ran$' -Because $r.Output
                    return
                }
                # Under 'Stop' any error the example writes ends it, and fails this test.
                & { $ErrorActionPreference = 'Stop'; . ([scriptblock]::Create($Code)) } 3>$null 4>$null | Out-Null
            } finally {
                Set-Location $savedLocation
                $env:KUBECONFIG = $sandbox.KubeConfig
            }
        }
    }
}
