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

    # The state an example expects before it runs: 'paused' (shop paused at 10% for a person, the default), 'progressing'
    # (shop driven by nobody, in a timed pause), 'approval' (waiting at an approval step), 'completed', 'none' (no rollout
    # running; ./rollout.yaml is a fresh spec), and extra steps (a header route that an example removes).
    function Set-ExampleState {
        param([string] $State, [string[]] $HeaderRoutes = @())
        $r = Get-KubesteadRollout shop -Namespace shop -ErrorAction SilentlyContinue
        if ($r -and $r.Phase -notin 'Completed', 'Aborted', 'Failed') { Stop-KubesteadRollout shop -Namespace shop -Force | Out-Null }
        $steps = switch ($State) {
            'progressing' { 'setWeight: 10', 'pause: { duration: 2s }' }
            'approval' { 'setWeight: 10', 'approval: {}', 'setWeight: 50' }
            'completed' { , 'setWeight: 10' }
            default { 'setWeight: 10', 'pause: {}' }
        }
        $spec = New-TestSpec -Path (Join-Path $work 'rollout.yaml') -Steps $steps
        if ($State -ne 'none') { Start-KubesteadRollout $spec -NoWait:($State -eq 'progressing') -Confirm:$false -WarningAction SilentlyContinue | Out-Null }
        foreach ($h in $HeaderRoutes) { Set-CanaryHeaderRoute shop -Namespace shop -RouteName $h -Confirm:$false | Out-Null }
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
    Set-Location $savedLocation
    $sandbox | Stop-KubesteadSandbox -Confirm:$false
    $env:KUBECONFIG = $savedKubeconfig
    $env:KUBESTEAD_CLI = $savedCli
}

Describe 'Help example <Command> <Title>' -ForEach $examples {
    It 'is what Get-Help shows' {
        $shown = @((Get-Help $Command -Full).examples.example)[$Number - 1].code
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
                # Sandbox examples start and stop sandboxes of their own: in a child pwsh, whose end stops what they leave.
                if ($Command -like '*-KubesteadSandbox') {
                    # Stand-ins for what the example leaves to its reader: Pester's blocks, the runbook's own checks, a
                    # sandbox to stop.
                    $prelude = "function BeforeAll([scriptblock] `$s) { & `$s }; function AfterAll([scriptblock] `$s) { & `$s }; function Invoke-MyChecks { Get-KubesteadRollout -Namespace shop }"
                    if ("$Command#$Number" -eq 'Stop-KubesteadSandbox#1') { $prelude += '; $null = Start-KubesteadSandbox -Confirm:$false' }
                    $r = Invoke-ChildPwsh "`$ErrorActionPreference = 'Stop'; Import-Module '$(Get-TestModulePath)'; $prelude`n$Code`n'example ran'" -Environment @{
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
