#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:hvm = Get-SamplePath 'hvm-domain.xlsave'
    $script:frozen = (New-HpetImage -Path "$TestDrive/frozen.save" -Timer0Config 0xf0000000002934 -Counter 0x97b90bc74).FullName
    $script:unfrozen = (New-HpetImage -Path "$TestDrive/unfrozen.save" -Timer0Config 0xf000000000293c -Counter 0xacbd23c57).FullName
}

Describe 'Get-XenHvmContext' -Tag 'CI' {
    It 'is the one line the xen-devel report needed: timer 0 lost HPET_TN_PERIODIC' {
        $t = Get-XenStreamRecord $frozen -Type HvmContext | Get-XenHvmContext -TypeCode Hpet | Select-Object -ExpandProperty Timers
        $t.Count | Should -Be 3
        $t[0].Periodic | Should -BeFalse
        $t[0].Enabled | Should -BeTrue
        $t[0].Route | Should -Be 20
        $t[0].Comparator | Should -Be 0xfd4aa84cL
        $t[0].Period | Should -Be 0xee6b2
        (Get-XenHvmContext $unfrozen -TypeCode Hpet).Timers[0].Periodic | Should -BeTrue
    }

    It 'compares two images'' device state with Compare-Object' {
        $a = Get-XenHvmContext $frozen -TypeCode Hpet
        $b = Get-XenHvmContext $unfrozen -TypeCode Hpet
        $d = Compare-Object $a.Timers $b.Timers -Property Index, Config, Periodic
        @($d).Count | Should -Be 2
        ($d | Where-Object SideIndicator -eq '=>').Periodic | Should -BeTrue
        Compare-Object $a $b -Property Capability, Config, Isr | Should -BeNullOrEmpty
    }

    It 'decodes every entry of the sample as a typed object, in blob order' {
        $e = Get-XenHvmContext $hvm
        $e[0] | Should -BeOfType ([XenMigration.HvmContext.HvmHeaderEntry])
        $e[-1].TypeCode | Should -Be 'End'
        ($e | Where-Object TypeCode -eq Cpu).Instance | Should -Be @(0, 1)
        ($e | Where-Object TypeCode -eq PciLink).Routes | Should -Be @(5, 10, 11, 5)
        ($e | Where-Object TypeCode -eq LapicRegs)[1].Registers[0].Name | Should -Be 'ID'
        ($e | Where-Object TypeCode -eq IoApic).Pins.Count | Should -Be 48
        $e | ForEach-Object { $_.Checkpoint | Should -Be 0 }
    }

    It 'filters by typecode and instance, and formats the vCPU table' {
        $cpu = Get-XenHvmContext -Path $hvm -TypeCode Cpu -Instance 1
        $cpu.Instance | Should -Be 1
        (Get-XenHvmContext -Path $hvm -TypeCode Cpu | Format-Table Instance, RipHex, RspHex, Cr3Hex, MsrEferHex | Out-String) | Should -Match '0xffffffff81c0f2ab'
        (Get-XenHvmContext -Path $hvm -TypeCode Cpu | Out-String) | Should -Match '0xffffffff81c0f2ab'
    }

    It 'survives CliXml serialization (remoting)' {
        $h = Get-XenHvmContext $frozen -TypeCode Hpet
        $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($h, 3))
        $copy.Timers[0].Periodic | Should -BeFalse
        $copy.MainCounter | Should -Be 0x97b90bc74
    }

    It 'reports a malformed entry with its offset, after the entries before it' {
        $bytes = [System.IO.File]::ReadAllBytes($frozen)
        # HPET's descriptor follows HEADER (32 bytes) and CPU (8 + 1032) at the start of the blob.
        $rec = Get-XenStreamRecord $frozen -Type HvmContext
        $hpetLength = $rec.PayloadOffset + 32 + 1040 + 4
        $bytes[$hpetLength] = 0x10   # 1048 -> 1040
        [System.IO.File]::WriteAllBytes("$TestDrive/bad.save", $bytes)
        $e = Get-XenHvmContext "$TestDrive/bad.save" -ErrorVariable err -ErrorAction SilentlyContinue
        @($e).Count | Should -Be 2
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidRecord,XenMigration.Commands.GetXenHvmContextCommand'
        $err[0].Exception.Offset | Should -Be ($rec.PayloadOffset + 32 + 1040)
    }

    It 'warns that a PV image has no HVM context' {
        Get-XenHvmContext (Get-SamplePath 'pv-domain.xlsave') -WarningVariable w -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        $w[0] | Should -Match 'no HVM_CONTEXT'
    }

    It 'says so when the records piped in are not HVM contexts' {
        Get-XenStreamRecord $hvm -Type PageData | Get-XenHvmContext -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotHvmContext,*'
    }
}

Describe 'Decoded PV and policy records' -Tag 'CI' {
    It 'explains HVM param values and names CPUID leaves' {
        $p = (Get-XenStreamRecord $hvm -Type HvmParams).Params | Where-Object Name -eq 'ACPI_IOPORTS_LOCATION'
        $p.Meaning | Should -BeLike 'QEMU ports (0xB000*'
        $v = [XenMigration.Libxc.HvmParam]::new(9, 7)
        $v.Meaning | Should -Be 'base+freq, no_freq, time_ref_count'
        (Get-XenStreamRecord $hvm -Type CpuidPolicy).Leaves[0].Name | Should -Be 'Vendor and maximum basic leaf'
    }

    It 'reads a PV vCPU context from the pipeline and from a variable' {
        $pv = Get-SamplePath 'pv-domain.xlsave'
        $live = Get-XenStreamRecord $pv -Type PvVcpuBasic | ForEach-Object { $_.ReadContext() }
        $later = (Get-XenStreamRecord $pv -Type PvVcpuBasic)[0].ReadContext()
        $live[0].Is64Bit | Should -BeTrue
        $later.Rip | Should -Be $live[0].Rip
    }
}
