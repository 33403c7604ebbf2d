#Requires -Version 7.4
# Get-KubesteadRolloutHistory and Export-KubesteadReport against a live sandbox cluster (istio).
BeforeAll {
    Import-Module "$PSScriptRoot/KubesteadTestHelpers.psm1" -Force
    Import-Module (Get-TestModulePath) -Force
    $savedKubeconfig = $env:KUBECONFIG
    $sandbox = Start-KubesteadSandbox -MeshProvider istio -CliPath (Get-TestCliPath) -Confirm:$false
    $spec = New-TestSpec -Path (Join-Path $TestDrive 'history.yaml') -Mesh istio
    $null = Start-KubesteadRollout $spec -Confirm:$false -WarningAction SilentlyContinue
}

AfterAll {
    $sandbox | Stop-KubesteadSandbox -Confirm:$false
    $env:KUBECONFIG = $savedKubeconfig
}

Describe 'Get-KubesteadRolloutHistory' {
    It 'writes flat records of the events, oldest first, that bind from Get-KubesteadRollout' {
        $h = @(Get-KubesteadRollout shop -Namespace shop | Get-KubesteadRolloutHistory)
        $h.Count | Should -BeGreaterThan 1
        $h[0] | Should -BeOfType Kubestead.PowerShell.KubesteadRolloutHistoryRecord
        $h | ForEach-Object { $_.Name | Should -Be 'shop'; $_.Namespace | Should -Be 'shop' }
        ($h | Where-Object Kind -eq 'setWeight').CanaryWeight | Should -Contain 10
        $sorted = $h.At | Sort-Object
        $h.At | Should -Be $sorted
    }

    It 'exports to CSV with a column per property' {
        $csv = Join-Path $TestDrive 'history.csv'
        Get-KubesteadRolloutHistory shop -Namespace shop -EventsOnly | Export-Csv $csv -NoTypeInformation
        $rows = @(Import-Csv $csv)
        $rows.Count | Should -BeGreaterThan 1
        $rows[0].PSObject.Properties.Name | Should -Contain 'CanaryFailureRate'
        $rows[0].PSObject.Properties.Name | Should -Contain 'EValue'
        @(Get-KubesteadRolloutHistory shop -Namespace shop -WindowsOnly).Count | Should -Be 0 # this spec analyses nothing
    }

    It 'rejects -WindowsOnly with -EventsOnly at binding, by parameter sets (issue #27 item 8)' {
        { Get-KubesteadRolloutHistory shop -Namespace shop -WindowsOnly -EventsOnly -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Kubestead.PowerShell.GetKubesteadRolloutHistoryCommand'
        (Get-Command Get-KubesteadRolloutHistory).ParameterSets.Name | Should -Contain 'Windows'
    }

    It 'shows records as a table whose headers are property names (issue #27 item 8)' {
        $view = Get-FormatData Kubestead.PowerShell.KubesteadRolloutHistoryRecord
        $view | Should -Not -BeNullOrEmpty
        $table = Get-KubesteadRolloutHistory shop -Namespace shop | Format-Table | Out-String -Width 300
        $table | Should -Match 'At\s+Kind\s+CanaryWeight\s+Metric\s+Outcome'
    }

    It 'reports a missing rollout as a non-terminating error' {
        Get-KubesteadRolloutHistory nope -Namespace shop -ErrorAction SilentlyContinue -ErrorVariable e
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RolloutNotFound*'
    }
}

Describe 'Export-KubesteadReport' {
    It 'writes a well-formed self-contained HTML report from the pipeline' {
        $path = Join-Path $TestDrive 'shop.html'
        $file = Get-KubesteadRollout shop -Namespace shop | Export-KubesteadReport -Path $path -PassThru
        $file | Should -BeOfType System.IO.FileInfo
        $file.FullName | Should -Be $path
        $settings = [System.Xml.XmlReaderSettings]@{ DtdProcessing = 'Ignore'; XmlResolver = $null }
        $reader = [System.Xml.XmlReader]::Create($path, $settings)
        try { $doc = [System.Xml.Linq.XDocument]::Load($reader) } finally { $reader.Dispose() }
        @($doc.Descendants([System.Xml.Linq.XName]::Get('svg', 'http://www.w3.org/2000/svg'))).Count | Should -BeGreaterThan 0
        Get-Content $path -Raw | Should -Not -Match '<script'
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'whatif.html'
        Export-KubesteadReport shop -Namespace shop -Path $path -WhatIf
        Test-Path $path | Should -BeFalse
    }

    It 'creates a missing folder, as a CI artifact path needs (issue #27 item 8)' {
        $path = Join-Path $TestDrive 'artifacts/reports/shop.html'
        Export-KubesteadReport shop -Namespace shop -Path $path -Confirm:$false
        Test-Path $path | Should -BeTrue
    }

    It 'writes one <Name>-report.html per rollout into a folder, and refuses a second input aimed at the same file' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'many')
        $files = @(Get-KubesteadRollout shop -Namespace shop | Export-KubesteadReport -Path $folder -PassThru)
        $files.FullName | Should -Be (Join-Path $folder 'shop-report.html')
        $one = Join-Path $TestDrive 'one.html'
        'shop', 'shop' | ForEach-Object { [pscustomobject]@{ Name = $_; Namespace = 'shop' } } |
            Export-KubesteadReport -Path $one -ErrorAction SilentlyContinue -ErrorVariable e
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ReportPathReused*'
    }

    It 'refuses a path that is not on the file system, writing nothing in the current folder' {
        Push-Location $TestDrive
        try {
            Export-KubesteadReport shop -Namespace shop -Path 'Env:/kubestead-report' -ErrorAction SilentlyContinue -ErrorVariable e
            $e[0].FullyQualifiedErrorId | Should -BeLike 'ReportPathNotFileSystem*'
            Test-Path (Join-Path $TestDrive 'kubestead-report') | Should -BeFalse
            Test-Path Env:/kubestead-report | Should -BeFalse
        } finally { Pop-Location }
    }

    It 'keeps an existing file with -NoClobber and says why' {
        $path = Join-Path $TestDrive 'kept.html'
        Set-Content $path 'keep me'
        Export-KubesteadReport shop -Namespace shop -Path $path -NoClobber -ErrorAction SilentlyContinue -ErrorVariable e
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ReportFileExists*'
        Get-Content $path -Raw | Should -Be "keep me$([Environment]::NewLine)"
    }
}
