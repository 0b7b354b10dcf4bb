#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# What a user types against what a user sees: table headings are property names, default views are
# readable at 80 and 120 columns, filters work on deserialized objects (CliXml, remoting, jobs), and
# versions compare as versions.

BeforeDiscovery {
    # Each output kind of the module, produced as a user would.
    $kinds = @(
        @{ Kind = 'XenStreamRecord'; Make = { Get-XenStreamRecord $hvm } }
        @{ Kind = 'XenStreamValidationResult'; Make = { Test-XenStream $hvm, $pv, $broken -Detailed } }
        @{ Kind = 'XenStreamIssue'; Make = { (Test-XenStream $broken, $hvm -Detailed).Issues } }
        @{ Kind = 'XenstoreRecord'; Make = { Import-XenstoreDump $dump } }
        @{ Kind = 'QemuSection'; Make = { Get-QemuDeviceState $qevm } }
        @{ Kind = 'QemuField'; Make = { (Get-QemuDeviceState $qevm -Name hpet).Fields } }
        @{ Kind = 'X86Registers'; Make = { Get-QemuCpuState $qevm } }
        @{ Kind = 'QemuRamBlock'; Make = { Get-QemuMemory $qevm } }
        @{ Kind = 'QemuMemoryRange'; Make = { Get-QemuMemory $qevm -Address 0xFFFF0 -Length 16 } }
        @{ Kind = 'HvmContextEntry'; Make = { Get-XenHvmContext $hvm } }
        @{ Kind = 'HvmCpuEntry'; Make = { Get-XenHvmContext $hvm -TypeCode Cpu } }
        @{ Kind = 'HvmHpetTimer'; Make = { Get-XenHvmContext $hvm -TypeCode Hpet } }
        @{ Kind = 'GuestMemoryRun'; Make = { Get-XenMemory $hvm } }
        @{ Kind = 'XenSaveInfo'; Make = { Get-XenSaveInfo $hvm, $pv } }
        @{ Kind = 'XenStreamDifference'; Make = { Compare-XenStream $hvm $pv } }
        @{ Kind = 'XenStreamPass'; Make = { Measure-XenStream (Get-SamplePath 'remus-checkpointed.libxl') } }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $hvm = Get-SamplePath 'hvm-domain.xlsave'
    $pv = Get-SamplePath 'pv-domain.xlsave'
    $broken = "$TestDrive/broken.save"
    New-TestImage -Path $broken -Xl | Out-Null
    $dump = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/xenstored-4.17/c-2-domains-tx-pending.dump')).ProviderPath
    $qevm = Get-QemuFixturePath 'pc-7.2-stopped.qevm'

    # The heading line and the dashes under it of the first table in $text.
    function Get-TableHeading([string] $text) {
        $lines = $text -split '\r?\n'
        for ($i = 1; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -match '^-+( +-+)*\s*$') {
                return [pscustomobject]@{ Heading = $lines[$i - 1]; Dashes = $lines[$i]; Rows = $lines[($i + 1)..($lines.Count - 1)] }
            }
        }
    }
}

Describe 'Default view of <Kind>' -Tag 'CI' -ForEach $kinds {
    BeforeAll {
        $objects = @(& $Make)
    }

    It 'has objects to show' {
        $objects.Count | Should -BeGreaterThan 0
    }

    It 'has headings that are property names (a user types what they see)' {
        $table = Get-TableHeading ($objects | Select-Object -First 20 | Format-Table | Out-String -Width 200)
        if (-not $table) { Set-ItResult -Skipped -Because 'the default view is not a table'; return }
        $names = @($objects | ForEach-Object { $_.PSObject.Properties.Name } | Sort-Object -Unique)
        foreach ($heading in ($table.Heading -split '\s+' | Where-Object { $_ })) {
            $names | Should -Contain $heading -Because "the heading '$heading' must be a property to filter on"
        }
    }

    It 'is readable at <_> columns' -ForEach 80, 120 {
        $table = Get-TableHeading ($objects | Select-Object -First 20 | Format-Table | Out-String -Width $_)
        if (-not $table) { return }
        $table.Heading | Should -Not -Match '…' -Because 'no heading is cut'
        $table.Heading.TrimEnd() | Should -Not -Match '\.\.\.$'
        # A column under 10 characters must not cut its values.
        $columns = @([regex]::Matches($table.Dashes, '-+'))
        for ($c = 0; $c -lt $columns.Count; $c++) {
            $start = $columns[$c].Index
            $end = if ($c + 1 -lt $columns.Count) { $columns[$c + 1].Index } else { [int]::MaxValue }
            if ($end - $start -ge 11) { continue }
            foreach ($row in $table.Rows | Where-Object { $_.Length -gt $start }) {
                $cell = $row.Substring($start, [Math]::Min($end, $row.Length) - $start)
                $cell | Should -Not -Match '…' -Because "column '$($table.Heading.Substring($start).Split(' ')[0])' is too narrow for its values"
            }
        }
    }

    It 'keeps enum filters working after Export-Clixml / Import-Clixml' {
        $file = "$TestDrive/$Kind.xml"
        $objects | Select-Object -First 50 | Export-Clixml -LiteralPath $file
        $back = @(Import-Clixml -LiteralPath $file)
        $back.Count | Should -Be ([Math]::Min(50, $objects.Count))
        $first = $objects[0]
        foreach ($p in $first.PSObject.Properties | Where-Object { $_.Value -is [enum] }) {
            $value = $p.Value.ToString()
            $live = @($objects | Select-Object -First 50 | Where-Object $p.Name -EQ $value).Count
            @($back | Where-Object $p.Name -EQ $value).Count | Should -Be $live -Because "Where-Object $($p.Name) -eq $value finds the same objects after deserialization"
        }
    }
}

Describe 'Values users compare' -Tag 'CI' {
    It 'Xen versions compare as versions (4.19 is not below 4.5)' {
        $domain = Get-XenStreamRecord $hvm -Type DomainHeader
        $domain.XenVersion | Should -BeOfType ([version])
        $domain.XenVersion -lt [version]'4.5' | Should -BeFalse
        (Test-XenStream $hvm -Detailed).XenVersion -ge [version]'4.10' | Should -BeTrue
    }

    It 'versions survive CliXml' {
        $r = Test-XenStream $hvm -Detailed
        $r | Export-Clixml "$TestDrive/r.xml"
        (Import-Clixml "$TestDrive/r.xml").XenVersion -lt [version]'4.5' | Should -BeFalse
    }

    It 'Where-Object ErrorCount works as the table shows it' {
        @(Test-XenStream $hvm, $broken -Detailed | Where-Object ErrorCount -gt 0).FilePath | Should -Be $broken
    }

    It 'issues name their file' {
        $issues = (Test-XenStream $broken, $hvm -Detailed).Issues
        $issues | ForEach-Object { $_.FilePath | Should -Not -BeNullOrEmpty }
        ($issues | Out-String -Width 80) | Should -Match ([regex]::Escape('broken.save'))
    }
}

Describe 'Module objects piped into file cmdlets mean their file' -Tag 'CI' {
    It 'a record piped to Test-XenStream tests its file' {
        $r = Get-XenStreamRecord $hvm -Type DomainHeader | Test-XenStream -Detailed
        $r.FilePath | Should -Be $hvm
        $r.IsValid | Should -BeTrue
    }

    It 'a result piped to Get-XenStreamRecord reads its file' {
        $records = Test-XenStream $hvm -Detailed | Get-XenStreamRecord -Type DomainHeader
        @($records).Count | Should -Be 1
        $records.FilePath | Should -Be $hvm
    }
}
