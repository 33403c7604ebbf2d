@{
    RootModule           = 'Kubestead.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '5f0c7a52-8d57-4f0e-9a4e-6b2f3c1d9e41'
    Author               = 'Kubestead contributors'
    CompanyName          = 'Kubestead'
    Copyright            = '(c) Kubestead contributors'
    Description          = 'Canary releases on Kubernetes through Istio, Linkerd, SMI or replica ratios, judged from metrics.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    NestedModules        = @('Kubestead.dll')
    FormatsToProcess     = @('Kubestead.Format.ps1xml')
    TypesToProcess       = @('Kubestead.Types.ps1xml')
    CmdletsToExport      = @(
        'Approve-KubesteadRollout',
        'Complete-KubesteadRollout',
        'Export-KubesteadReport',
        'Get-CanaryAnalysis',
        'Get-CanarySplitPlan',
        'Get-CanaryWeight',
        'Get-KubesteadGitOpsConfig',
        'Get-KubesteadRollout',
        'Get-KubesteadRolloutHistory',
        'New-KubesteadRolloutSpec',
        'Remove-CanaryHeaderRoute',
        'Resume-KubesteadRollout',
        'Set-CanaryHeaderRoute',
        'Set-CanaryWeight',
        'Start-KubesteadRollout',
        'Start-KubesteadSandbox',
        'Stop-KubesteadRollout',
        'Stop-KubesteadSandbox',
        'Suspend-KubesteadRollout',
        'Test-KubesteadRollout',
        'Wait-KubesteadRollout'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            # No ProjectUri, LicenseUri or HelpInfoURI: the project has no public home, licence file or updatable help
            # yet, and a placeholder address would send users nowhere.
            Tags         = @('Kubernetes', 'Canary', 'Istio', 'Linkerd', 'GatewayAPI', 'SMI', 'Rollout', 'DevOps')
            ReleaseNotes = 'Preview.'
        }
    }
}
