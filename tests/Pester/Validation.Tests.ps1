#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# The scheduled-validation path as a scheduler runs it: xen-validate.ps1 in a new pwsh process
# (pwsh -NoProfile -File), its exit code, its summary, and its reports read back by Import-Csv and
# ConvertFrom-Json.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $moduleBase = (Get-Module XenMigration).ModuleBase
    $script = Join-Path $moduleBase 'xen-validate.ps1'

    function Invoke-Validate {
        param([string[]] $Arguments)
        Invoke-ChildPwsh -Arguments (@('-NoProfile', '-NonInteractive', '-File', $script) + $Arguments)
    }

    $tree = New-Item -ItemType Directory -Path "$TestDrive/save/host1" -Force
    Copy-Item (Get-SamplePath 'hvm-domain.xlsave') "$tree/web01.save"
    Copy-Item (Get-SamplePath 'pv-domain.xlsave') "$tree/dns01.save"
    New-Item -ItemType Directory -Path "$TestDrive/save/host2" -Force | Out-Null
    Copy-Item (Get-SamplePath 'hvm-domain.xlsave') "$TestDrive/save/host2/db01.save"
}

Describe 'xen-validate.ps1 (scheduled validation)' {
    It 'ships next to the manifest' {
        $script | Should -Exist
    }

    It 'exits 0 when every image is valid and writes both reports' {
        $r = Invoke-Validate -Arguments @('-Path', "$TestDrive/save", '-Recurse', '-ReportPath', "$TestDrive/r.json,$TestDrive/r.csv")
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match '3 images: 3 valid, 0 invalid or unreadable'
        $json = Get-Content -Raw "$TestDrive/r.json" | ConvertFrom-Json
        $json.summary.images | Should -Be 3
        $json.images.Path | Should -Be @(
            (Join-Path "$TestDrive/save/host1" 'dns01.save'), (Join-Path "$TestDrive/save/host1" 'web01.save'), (Join-Path "$TestDrive/save/host2" 'db01.save'))
        $csv = Import-Csv "$TestDrive/r.csv"
        $csv.Count | Should -Be 3
        $csv.Verdict | Should -Be @('Valid', 'Valid', 'Valid')
        [long]$csv[0].Size | Should -Be (Get-Item "$TestDrive/save/host1/dns01.save").Length
    }

    It 'exits 1 and names the image when one is broken; an incremental rerun checks only it' {
        Copy-Truncated -Source (Get-SamplePath 'hvm-domain.xlsave') -Destination "$TestDrive/save/host2/broken.save" -Length 4000
        $r = Invoke-Validate -Arguments @('-Path', "$TestDrive/save", '-Recurse', '-ReportPath', "$TestDrive/r.json", '-Incremental')
        $r.ExitCode | Should -Be 1 -Because $r.Output
        $r.Output | Should -Match '4 images: 3 valid, 1 invalid or unreadable, 3 unchanged since the last report'
        $r.Output | Should -Match 'broken\.save: Invalid - UnexpectedEndOfStream'
    }

    It 'exits 2 when the run itself fails (a report it cannot write)' {
        $r = Invoke-Validate -Arguments @('-Path', "$TestDrive/save", '-ReportPath', "$TestDrive/no/such/folder/r.json")
        $r.ExitCode | Should -Be 2 -Because $r.Output
        $r.Output | Should -Match 'xen-validate'
    }

    It 'gives rows that survive CliXml (remoting and jobs serialize them so)' {
        $rows = Invoke-XenStreamValidation "$TestDrive/save/host1"
        $back = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($rows))
        @($back | Where-Object Verdict -eq Valid).Count | Should -Be 2
        $back[0].Size | Should -BeOfType [long]
        $back[0].LastWriteTimeUtc | Should -BeOfType [datetime]
    }
}
