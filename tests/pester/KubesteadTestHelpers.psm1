# Shared by the Pester files: where things are, a spec writer, a child pwsh, and a sandbox per mesh.
Set-StrictMode -Version Latest

$script:Root = $env:KUBESTEAD_REPO_ROOT ?? (Resolve-Path "$PSScriptRoot/../..").Path

function Get-TestRoot { $script:Root }

function Get-TestModulePath { Join-Path $script:Root 'out/Kubestead/Kubestead.psd1' }

function Get-TestCliPath {
    $dll = Join-Path $script:Root 'src/Kubestead.Cli/bin/Debug/net8.0/kubestead.dll'
    if (-not (Test-Path $dll)) { throw "the kubestead CLI is not built ($dll); run tests/run-pester.sh, which builds it" }
    $dll
}

# A child pwsh (the same 7.6.9) that starts clean: -NoProfile -NonInteractive, the module path of this run.
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)] [string] $Command, [switch] $File, [hashtable] $Environment = @{})
    $saved = @{}
    foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
    try {
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        if ($File) { $out = & dotnet $pwshDll -NoProfile -NonInteractive -File $Command 2>&1 }
        else { $out = & dotnet $pwshDll -NoProfile -NonInteractive -Command $Command 2>&1 }
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out | ForEach-Object { "$_" }) -join "`n" }
    } finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
    }
}

# A child pwsh left running (for signal tests): its Process, with standard output redirected.
function Start-ChildPwsh {
    param([Parameter(Mandatory)] [string] $Command, [hashtable] $Environment = @{})
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in (Join-Path $PSHOME 'pwsh.dll'), '-NoProfile', '-NonInteractive', '-Command', $Command) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    [System.Diagnostics.Process]::Start($psi)
}

# Waits until the condition holds (true) or the timeout passes (false).
function Wait-Until {
    param([Parameter(Mandatory)] [scriptblock] $Condition, [int] $TimeoutSeconds = 60)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds 200
    }
    $false
}

# A rollout spec for the sandbox's shop service without metric analysis (outside drivers run on wall time),
# so a whole rollout takes a few seconds.
function New-TestSpec {
    param(
        [Parameter(Mandatory)] [string] $Path,
        [ValidateSet('istio', 'linkerd', 'smi', 'none', 'nginx', 'linkerd1')] [string] $Mesh = 'istio',
        # linkerd1: the sandbox's emulated namerd ($sandbox.NamerdAddress); default: the one Set-TestNamerd gave.
        [string] $Namerd = $script:TestNamerd,
        [string] $Name = 'shop',
        # A fresh version by default: stable already running a spec's image makes start answer "already at this version".
        [string] $Image = "registry.example.com/shop:2.$(Get-Random -Maximum 100000000)",
        [string[]] $Steps = @('setWeight: 10', 'pause: {}')
    )
    $meshBlock = switch ($Mesh) {
        'istio' { "  istio:`n    virtualService: { name: shop, route: primary }`n    destinationRule: { name: shop }" }
        'linkerd' { "  linkerd:`n    apiGroup: gateway.networking.k8s.io`n    canaryService: shop-canary" }
        'smi' { "  smi:`n    apiVersion: split.smi-spec.io/v1alpha4`n    canaryService: shop-canary" }
        'none' { "  none:`n    capacity: keepStable`n    readyTimeout: 2m" }
        'nginx' { "  nginx:`n    ingress: shop`n    canaryService: shop-canary" }
        'linkerd1' {
            if (-not $Namerd) { throw 'New-TestSpec -Mesh linkerd1 needs -Namerd (the sandbox''s NamerdAddress) or Set-TestNamerd' }
            "  linkerd1:`n    namerd: $Namerd`n    namespace: shop`n    prefix: /svc/shop`n    stable: /env/prod/shop`n    canary: /env/prod/shop-canary`n    canaryService: shop-canary"
        }
    }
    $stepLines = ($Steps | ForEach-Object { "    - $_" }) -join "`n"
    @"
apiVersion: kubestead.io/v1alpha1
kind: Rollout
metadata: { name: $Name, namespace: shop }
spec:
  service: shop
  meshProvider: $Mesh
$meshBlock
  stable: { deployment: shop }
  canary: { image: $Image }
  scaleDownDelay: 0s
  steps:
$stepLines
"@ | Set-Content -LiteralPath $Path
    $Path
}

$script:TestNamerd = $null

# The emulated namerd of a linkerd1 sandbox: New-TestSpec points specs at it, Get-ClusterFingerprint includes its dtab.
function Set-TestNamerd {
    param([AllowNull()] [string] $Address)
    $script:TestNamerd = if ($Address) { $Address } else { $null }
}

# One dtab of a namerd as text, with its version (ETag).
function Get-NamerdDtab {
    param([string] $Namespace = 'shop', [string] $Namerd = $script:TestNamerd)
    $r = Invoke-WebRequest -Uri "$($Namerd.TrimEnd('/'))/api/1/dtabs/$Namespace" -Headers @{ Accept = 'application/dtab' } -TimeoutSec 10
    # application/dtab is not a text type to Invoke-WebRequest: its Content is bytes.
    $text = if ($r.Content -is [byte[]]) { [System.Text.Encoding]::UTF8.GetString($r.Content) } else { [string]$r.Content }
    [pscustomobject]@{ Text = $text; Version = [string]$r.Headers['ETag'] }
}

# The resourceVersions of every object the rollout cmdlets may touch in the sandbox's namespace (and, with a
# namerd set by Set-TestNamerd, the version of its dtab: the one thing linkerd1 routing writes).
function Get-ClusterFingerprint {
    param([string] $Namespace = 'shop')
    $kc = $env:KUBECONFIG
    $text = Get-Content -Raw $kc
    $server = [regex]::Match($text, 'server:\s*(\S+)').Groups[1].Value
    $paths = @(
        "/api/v1/namespaces/$Namespace/configmaps", "/api/v1/namespaces/$Namespace/services",
        "/apis/apps/v1/namespaces/$Namespace/deployments", "/apis/coordination.k8s.io/v1/namespaces/$Namespace/leases",
        "/apis/networking.istio.io/v1/namespaces/$Namespace/virtualservices", "/apis/networking.istio.io/v1/namespaces/$Namespace/destinationrules",
        "/apis/gateway.networking.k8s.io/v1/namespaces/$Namespace/httproutes", "/apis/networking.k8s.io/v1/namespaces/$Namespace/ingresses"
    )
    $parts = foreach ($p in $paths) {
        try {
            $list = Invoke-RestMethod -Uri "$server$p" -SkipCertificateCheck -TimeoutSec 10
            # Deployments: the generation, which only spec changes move (the sandbox marks Deployments ready on its own).
            foreach ($i in $list.items) {
                $v = if ($p -like '*/deployments') { "g$($i.metadata.generation)" } else { $i.metadata.resourceVersion }
                "$p/$($i.metadata.name)@$v"
            }
        } catch { "$p unavailable" }
    }
    if ($script:TestNamerd) { $parts = @($parts) + "namerd/$Namespace@$((Get-NamerdDtab -Namespace $Namespace).Version)" }
    ($parts | Sort-Object) -join ';'
}



# GET one object of the sandbox as the API serves it (anonymous over plain HTTP, as kubectl does there).
function Get-SandboxObject {
    param([Parameter(Mandatory)] [string] $ApiPath)
    $server = [regex]::Match((Get-Content -Raw $env:KUBECONFIG), 'server:\s*(\S+)').Groups[1].Value
    try { Invoke-RestMethod -Uri "$server$ApiPath" -SkipCertificateCheck -TimeoutSec 10 } catch { $null }
}

function Get-RolloutLeaseHolder {
    param([string] $Name = 'shop', [string] $Namespace = 'shop')
    $lease = Get-SandboxObject "/apis/coordination.k8s.io/v1/namespaces/$Namespace/leases/kubestead-$Name"
    if ($null -eq $lease) { return '' }
    "$($lease.spec.holderIdentity)"
}
Export-ModuleMember -Function *
