#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Idioms an administrator or a Xen developer types, as they type them (issue 19).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $hvm = Get-SamplePath 'hvm-domain.xlsave'
    $pv = Get-SamplePath 'pv-domain.xlsave'
    $legacy = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/legacy')).ProviderPath
}

Describe 'ConvertTo-XenStreamV2 without -GuestType' -Tag 'CI' {
    It 'converts every legacy fixture, PV and HVM, detecting the guest type' {
        $out = "$TestDrive/v2"
        $files = Get-ChildItem "$legacy/*.legacy"
        $files.Count | Should -BeGreaterThan 4
        $results = $files | ConvertTo-XenStreamV2 -DestinationFolder $out -PassThru -ErrorAction Stop | Test-XenStream
        @($results).Count | Should -Be $files.Count
        $results | ForEach-Object { $_ | Should -BeTrue }
        (Get-ChildItem $out).Name | ForEach-Object { $_ | Should -BeLike '*.save' }
    }

    It 'says which guest type it detected' {
        $v = ConvertTo-XenStreamV2 "$legacy/pv64-w64.legacy" -Destination "$TestDrive/pv.save" -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($v.Message -join "`n") | Should -Match 'Guest type: PV \(detected\)'
    }
}

Describe 'Test-XenStream on legacy images' -Tag 'CI' {
    It 'reports a legacy image valid, as xl restore converts it' {
        $r = Test-XenStream "$legacy/hvm-w64.legacy" -Detailed
        $r.IsValid | Should -BeTrue
        $r.Format | Should -Be 'LegacyLibxc'
        $r.Issues.Code | Should -Contain 'LegacyImage'
    }

    It 'reports an unreadable input as a result with -Detailed' {
        $r = Test-XenStream "$TestDrive/missing.save" -Detailed -ErrorAction Stop
        $r.IsValid | Should -BeFalse
        $r.Issues[0].Code | Should -Be 'FileNotFound'
    }
}

Describe '-Type takes the specification''s names and wildcards' -Tag 'CI' {
    It 'Get-XenStreamRecord -Type PAGE_DATA' {
        (Get-XenStreamRecord $hvm -Type PAGE_DATA).Type | Sort-Object -Unique | Should -Be 'PageData'
    }

    It 'Get-XenStreamRecord -Type PvVcpu*' {
        $types = (Get-XenStreamRecord $pv -Type PvVcpu*).Type | Sort-Object -Unique
        $types | Should -Contain 'PvVcpuBasic'
        $types | Should -Contain 'PvVcpuMsrs'
    }

    It 'Get-XenHvmContext -TypeCode LAPIC_REGS' {
        (Get-XenHvmContext $hvm -TypeCode LAPIC_REGS).TypeCode | Sort-Object -Unique | Should -Be 'LapicRegs'
    }

    It 'Tab offers both names' {
        $matches = (TabExpansion2 'Get-XenStreamRecord x -Type PAGE' 32).CompletionMatches.CompletionText
        $matches | Should -Contain 'PageData'
        $matches | Should -Contain 'PAGE_DATA'
    }

    It 'an unknown name lists the valid ones' {
        { Get-XenStreamRecord $hvm -Type Nope -ErrorAction Stop } | Should -Throw -ExpectedMessage '*PageData*'
    }
}

Describe 'Views of mixed and decoded objects' -Tag 'CI' {
    It 'mixed HVM context kinds share one table' {
        $text = Get-XenHvmContext $hvm -TypeCode Cpu, Hpet, Rtc | Out-String -Width 120
        ([regex]::Matches($text, '(?m)^\s*Offset\s+TypeCode')).Count | Should -Be 1
        $text | Should -Not -Match '(?m)^Rip\s+:'
    }

    It 'one kind keeps its own view' {
        Get-XenHvmContext $hvm -TypeCode Cpu | Out-String -Width 120 | Should -Match 'Vcpu\s+Mode\s+Rip'
    }

    It 'Format-List shows decoded record fields' {
        Get-XenStreamRecord $pv -Type PvP2mFrames | Format-List | Out-String | Should -Match 'StartPfn\s+:'
    }

    It 'register-like values have hex companions that keep the number for filters' {
        $cpu = Get-XenHvmContext $hvm -TypeCode Cpu | Select-Object -First 1
        $cpu.RipHex | Should -Be ('0x{0:x}' -f $cpu.Rip)
        @(Get-XenHvmContext $hvm -TypeCode Cpu | Where-Object Rip -gt 0xffffffff00000000).Count | Should -Be 2
        $csv = Get-XenHvmContext $hvm -TypeCode Cpu | ConvertTo-Csv
        $csv[0] | Should -Match '"RipHex"'
    }
}

Describe 'Module objects piped into file cmdlets mean their file' -Tag 'CI' {
    It 'records of one image give one verdict, records of two give two' {
        @(Get-XenStreamRecord $hvm | Test-XenStream).Count | Should -Be 1
        $two = @(Get-XenStreamRecord $hvm, (Get-SamplePath 'pv-domain.xlsave') | Test-XenStream -Detailed)
        $two.Count | Should -Be 2
        $two[0].FilePath | Should -Be $hvm
    }

    It 'results bind by FilePath too' {
        @(Test-XenStream $hvm -Detailed | Get-XenSaveInfo).Count | Should -Be 1
    }
}

Describe 'Records after the pipeline' -Tag 'CI' {
    It 'OpenPayload works once the reader has gone' {
        $page = @(Get-XenStreamRecord $hvm -Type PageData)[0]
        $s = $page.OpenPayload()
        try { $s.Length | Should -Be $page.PayloadLength } finally { $s.Dispose() }
    }
}

Describe 'Help' -Tag 'CI' {
    BeforeDiscovery { $cmdlets = @(Get-Command -Module XenMigration -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } }) }

    It '<Name> points Get-Help -Online at its own page' -ForEach $cmdlets {
        $uri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/$Name.md"
        (Get-Command $Name).HelpUri | Should -Be $uri
        (Get-Help $Name).relatedLinks.navigationLink[0].uri | Should -Be $uri
    }

    It '<Name> help reads at 80 columns without words cut' -ForEach $cmdlets {
        $text = Get-Help $Name -Full | Out-String -Width 80
        foreach ($line in $text -split '\r?\n') { $line.TrimEnd().Length | Should -BeLessOrEqual 80 }
        # pre-wrapped paragraphs: pwsh never has to cut a long paragraph line
        $long = (Get-Help $Name).description.Text -split '\r?\n' | Where-Object { $_.Length -gt 72 }
        $long | Should -BeNullOrEmpty
    }
}
