#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:stopped = Get-QemuFixturePath 'pc-7.2-stopped.qevm'
    $script:q35 = Get-QemuFixturePath 'q35-7.2-stopped.qevm'
    $script:libvirt = Get-QemuFixturePath 'libvirt-pc-7.2.save'
    $script:xz = Get-QemuFixturePath 'libvirt-pc-7.2-xz.save'
    $script:old = Get-QemuFixturePath 'pc-i440fx-2.2-stopped.qevm'
    $script:hvm = Get-SamplePath 'hvm-domain.xlsave'
}

Describe 'Get-QemuDeviceState' -Tag 'CI' {
    It 'lists the sections of a real QEMU stream as typed objects, decoded from its description' {
        $s = Get-QemuDeviceState $stopped
        $s[0] | Should -BeOfType ([XenMigration.Qemu.QemuSection])
        ($s | Where-Object Kind -eq Full).Count | Should -Be 33
        ($s | Where-Object Kind -eq Full | Where-Object DecodedFrom -ne Description) | Should -BeNullOrEmpty
        ($s | Where-Object IdStr -eq 'cpu').InstanceId | Should -Be @(0, 1)
    }

    It 'filters by IdStr with wildcards, and gives field values' {
        $rtc = Get-QemuDeviceState $stopped -Name 'mc146818*'
        $rtc.IdStr | Should -Be 'mc146818rtc'
        $rtc.Fields[0].Name | Should -Be 'cmos_data'
        $rtc.GetValue('cmos_index') | Should -BeOfType ([uint64])
        (Get-QemuDeviceState $stopped | Where-Object IdStr -eq 'hpet').Fields.Name | Should -Contain 'num_timers'
    }

    It 'reads the QEMU state of a Xen image, from the pipeline or by path' {
        $piped = Get-XenStreamRecord $hvm -Type EmulatorContext | Get-QemuDeviceState -Name hpet
        $direct = Get-QemuDeviceState $hvm -Name hpet
        $piped.DecodedFrom | Should -Be 'BuiltIn'
        $piped.Offset | Should -Be $direct.Offset
        $piped.FilePath | Should -Be $hvm
        # the whole image piped in: only the EMULATOR_CONTEXT is read
        (Get-XenStreamRecord $hvm | Get-QemuDeviceState -Name hpet).Offset | Should -Be $direct.Offset
    }

    It 'says which records are not QEMU state' {
        Get-XenStreamRecord $hvm -Type PageData | Get-QemuDeviceState -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'NotEmulatorContext,*'
    }

    It 'shows a libvirt header and its domain XML with -Header' {
        $h = Get-QemuDeviceState $libvirt -Header
        $h[0] | Should -BeOfType ([XenMigration.Libvirt.LibvirtSaveHeader])
        ([xml]$h[0].Xml).domain.name | Should -Be 'xm-fixture'
        $h[1].MachineType | Should -Be 'pc-i440fx-7.2'
        (Get-QemuDeviceState $libvirt | Where-Object IdStr -eq 'cpu').Count | Should -Be 2
    }

    It 'reads libvirt images compressed with <_> as libvirt writes them' -ForEach 'gzip', 'bzip2', 'xz', 'lzop', 'zstd' {
        $image = Get-QemuFixturePath "libvirt-pc-7.2-$_.save"
        $plain = Get-QemuDeviceState $libvirt
        $sections = Get-QemuDeviceState $image
        $sections.Count | Should -Be $plain.Count
        ($sections.IdStr -join ',') | Should -Be ($plain.IdStr -join ',')
        (Get-QemuMemory $image -Address 0xfffffff0 -Length 16).ToArray() | Should -Be (Get-QemuMemory $libvirt -Address 0xfffffff0 -Length 16).ToArray()
    }

    It 'says where damaged compressed data fails, with a stable ErrorId' {
        $bytes = [IO.File]::ReadAllBytes($xz)
        $bytes[$bytes.Length - 40] = $bytes[$bytes.Length - 40] -bxor 0xff
        [IO.File]::WriteAllBytes("$TestDrive/damaged-xz.save", $bytes)
        Get-QemuDeviceState "$TestDrive/damaged-xz.save" -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be 'CorruptCompressedData,XenMigration.Commands.GetQemuDeviceStateCommand'
        $e[0].Exception.Message | Should -Match 'xz-compressed data is invalid after \d+ decompressed bytes'
    }

    It 'walks a pc-i440fx-2.2 stream to its end, with the layouts its machine type gives old devices' {
        $s = Get-QemuDeviceState $old -WarningVariable w -WarningAction SilentlyContinue
        $w | Should -BeNullOrEmpty
        $pm = $s | Where-Object IdStr -like '*piix4_pm'
        $pm.DecodedFrom | Should -Be 'BuiltIn'
        $pm.Fields.Name | Should -Not -Contain 'smb'
        $s[-1].IdStr | Should -Be 'acpi_build'
    }

    It 'warns where the walk of a stream without footers stops' {
        # piix4_pm's body cut short inside: no layout of any machine type fits, and nothing says where it ends.
        $bytes = [IO.File]::ReadAllBytes($old)
        $at = 0x8243c + 600
        [IO.File]::WriteAllBytes("$TestDrive/odd.qevm", $bytes[0..($at - 1)] + $bytes[($at + 3)..($bytes.Length - 1)])
        $s = Get-QemuDeviceState "$TestDrive/odd.qevm" -WarningVariable w -WarningAction SilentlyContinue
        $w[0] | Should -Match 'piix4_pm'
        $s[-1].DecodedFrom | Should -Be 'None'
    }

    It 'reports a truncated stream with the offset, after the sections before it' {
        Copy-Truncated $stopped "$TestDrive/cut.qevm" 540000
        $s = Get-QemuDeviceState "$TestDrive/cut.qevm" -ErrorVariable e -ErrorAction SilentlyContinue
        $s.Count | Should -BeGreaterThan 5
        $e[0].FullyQualifiedErrorId | Should -BeLike 'UnexpectedEndOfStream,*'
        $e[0].Exception.Offset | Should -BeLessOrEqual 540000
    }

    It 'reads a stream from Get-ChildItem and survives CliXml (remoting)' {
        $s = Get-Item $stopped | Get-QemuDeviceState -Name timer
        $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($s, 3))
        $copy.IdStr | Should -Be 'timer'
        $copy.Fields.Count | Should -Be 3
    }
}

Describe 'Get-QemuCpuState' -Tag 'CI' {
    It 'gives the registers QEMU reported for each vCPU' {
        $cpu = Get-QemuCpuState $q35
        $cpu.Count | Should -Be 2
        $cpu[0].Rip | Should -Be 0xb7b9
        $cpu[0].Rsp | Should -Be 0x6f94
        $cpu[1].Mode | Should -Be 'Protected'
        $cpu[1].Cs.Selector | Should -Be 8
        $cpu | ForEach-Object { $_.Halted | Should -BeTrue }
    }

    It 'reads the cpu sections of device state taken with xen-save-devices-state' {
        # The sample's EMULATOR_CONTEXT was taken from a TCG guest, whose QEMU runs the vCPU; under
        # Xen, QEMU has no cpu section and the cmdlet writes nothing.
        $cpu = Get-QemuCpuState $hvm
        @($cpu).Count | Should -Be 1
        $cpu.FilePath | Should -Be $hvm
    }
}

Describe 'Get-QemuMemory' -Tag 'CI' {
    It 'lists the RAM blocks, one object each' {
        $b = Get-QemuMemory $stopped
        $b.Name | Should -Contain 'pc.ram'
        ($b | Where-Object Name -eq 'pc.bios').Address | Should -Be 4294705152   # 0xFFFC0000
    }

    It 'reads the reset vector with a hex address as PowerShell types it' {
        $m = Get-QemuMemory $stopped -Address 0xfffffff0 -Length 16
        $m.BlockName | Should -Be 'pc.bios'
        $m.Bytes[0] | Should -Be 0xEA
        $m.MissingBytes | Should -Be 0
    }

    It 'reads a block by name, and names the blocks when one is missing' {
        (Get-QemuMemory $stopped -BlockName pc.bios -Offset 0x3fff0 -Length 1).Bytes | Should -Be @(0xEA)
        Get-QemuMemory $stopped -BlockName vga.vram -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'NoSuchRamBlock,*'
        $e[0].Exception.Message | Should -Match 'pc\.ram'
    }

    It 'refuses -Address with -BlockName, and -Offset without -BlockName: they are other parameter sets' {
        { Get-QemuMemory $stopped -Address 0 -BlockName pc.ram -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet,*'
        { Get-QemuMemory $stopped -Offset 0x1000 -ErrorAction Stop } | Should -Throw -ErrorId 'MissingMandatoryParameter,*'
        (Get-Command Get-QemuMemory).ParameterSets.Name | Should -Contain 'PathBlock'
    }

    It 'gives the guest-physical address of a block offset, and sends ranges over 256 MiB to Export-GuestMemory' {
        (Get-QemuMemory $stopped -BlockName pc.ram -Offset 0x1000 -Length 16).PhysicalAddress | Should -Be 0x1000
        { Get-QemuMemory $stopped -Address 0 -Length 1GB -ErrorAction Stop } | Should -Throw -ErrorId 'RangeTooLargeForMemory,*'
        Export-GuestMemory $stopped -Address 0xff0 -Length 0x20 -Destination "$TestDrive/r.raw"
        $bytes = [IO.File]::ReadAllBytes("$TestDrive/r.raw")
        $bytes.Count | Should -Be 0x20
        ($bytes -join ',') | Should -Be ((Get-QemuMemory $stopped -Address 0xff0 -Length 0x20).ToArray() -join ',')
    }
}
