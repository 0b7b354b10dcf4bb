#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:cmd = 'XenMigration.Commands.TestXenStreamCommand'
    $script:hvm = Get-SamplePath 'hvm-domain.xlsave'
    $script:pv = Get-SamplePath 'pv-domain.xlsave'
    $script:remus = Get-SamplePath 'remus-checkpointed.libxl'
}

Describe 'Test-XenStream' -Tag 'CI' {
    Context 'Default output' {
        It 'returns $true for each valid sample' {
            (Test-XenStream $hvm, $pv, $remus) -join ',' | Should -Be 'True,True,True'
        }

        It 'returns $false without an error record for a damaged image, with reasons on -Verbose' {
            $cut = "$TestDrive/cut.save"
            Copy-Truncated -Source $hvm -Destination $cut -Length 4000
            $verbose = Test-XenStream $cut -Verbose -ErrorVariable err 4>&1
            $err | Should -BeNullOrEmpty
            $verbose[-1] | Should -Be $false
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
                Should -Match 'UnexpectedEndOfStream at offset 0xFA0 \(4000\)'
        }

        It 'supports the scheduled-job idiom' {
            $cut = "$TestDrive/cut2.save"
            Copy-Truncated -Source $pv -Destination $cut -Length 100000
            $failed = if (-not (Test-XenStream $cut)) { 'failed' }
            $failed | Should -Be 'failed'
        }

        It 'fails warnings with -Strict, but not the note every current Xen image carries' {
            Test-XenStream $hvm | Should -BeTrue
            Test-XenStream $hvm -Strict | Should -BeTrue
            $trailing = "$TestDrive/trailing.xlsave"
            [System.IO.File]::WriteAllBytes($trailing, [System.IO.File]::ReadAllBytes($hvm) + [byte[]]::new(8))
            Test-XenStream $trailing | Should -BeTrue
            Test-XenStream $trailing -Strict | Should -BeFalse
            (Test-XenStream $trailing -Detailed).Issues.Severity | Should -Be @('Information', 'Warning')
        }

        It 'writes an error and no bool for a file it cannot test' {
            $out = Test-XenStream "$TestDrive/none.save" -ErrorVariable err -ErrorAction SilentlyContinue
            $out | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be "FileNotFound,$cmd"
        }
    }

    Context '-Detailed' {
        It 'writes result objects that filter with Where-Object' {
            $cut = "$TestDrive/bad.save"
            Copy-Truncated -Source $hvm -Destination $cut -Length 60000
            $results = Test-XenStream $hvm, $cut -Detailed
            $results.Count | Should -Be 2
            $bad = $results | Where-Object -not IsValid
            $bad.FilePath | Should -Be $cut
            $bad.Issues[-1].Code | Should -Be 'UnexpectedEndOfStream'
            $bad.Issues[-1].Severity | Should -Be 'Error'
            $bad.Issues[-1].Offset | Should -Be 60000
        }

        It 'describes the image' {
            $r = Test-XenStream $pv -Detailed
            $r.Format | Should -Be 'XlSaveFile'
            $r.GuestType | Should -Be 'Pv'
            $r.LibxcVersion | Should -Be 3
            $r.PageCount | Should -BeGreaterThan 0
            $r.BytesRead | Should -BeLessOrEqual (Get-Item $pv).Length
            (Test-XenStream $remus -Detailed).Checkpointed | Should -BeTrue
        }

        It 'exports to CSV from Get-ChildItem' {
            Copy-Item $hvm, $pv -Destination $TestDrive
            Get-ChildItem -LiteralPath $TestDrive -Filter *.xlsave | Test-XenStream -Detailed |
                Select-Object Path, IsValid, ErrorCount | Export-Csv "$TestDrive/report.csv" -NoTypeInformation
            $rows = Import-Csv "$TestDrive/report.csv"
            $rows.Count | Should -Be 2
            $rows | ForEach-Object { $_.IsValid | Should -Be 'True' }
        }

        It 'survives CliXml serialization with its issues' {
            Export-Clixml -InputObject (Test-XenStream $hvm -Detailed) -Path "$TestDrive/r.xml"
            $copy = Import-Clixml "$TestDrive/r.xml"
            $copy.Issues[0].Code | Should -Be 'ContextBeforeParams'
            $copy.Issues[0].Severity | Should -Be 'Information'
            $copy.Issues[0].FilePath | Should -Be $hvm
        }

        It 'runs in parallel runspaces' -Skip:($PSVersionTable.PSVersion.Major -lt 7) {
            $module = (Get-Module XenMigration).Path -replace 'XenMigration\.PowerShell\.dll$', 'XenMigration.psd1'
            $results = @($hvm, $pv, $remus, $hvm) | ForEach-Object -Parallel {
                Import-Module $using:module
                Test-XenStream -LiteralPath $_ -Detailed
            } -ThrottleLimit 4
            $results.Count | Should -Be 4
            $results | ForEach-Object { $_.IsValid | Should -BeTrue }
        }

        It 'returns results from a background job with their issues' {
            $module = (Get-Module XenMigration).Path -replace 'XenMigration\.PowerShell\.dll$', 'XenMigration.psd1'
            $r = Start-Job { Import-Module $using:module; Test-XenStream -LiteralPath $using:hvm -Detailed } | Receive-Job -Wait -AutoRemoveJob
            $r.Issues[0].Code | Should -Be 'ContextBeforeParams'
        }
    }
}
