#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Get-XenMemory and Export-GuestMemory as a user runs them (the real-guest comparisons with QEMU and the
# forensic tools are in tests/Unit/Memory).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $hvm = Get-SamplePath 'hvm-domain.xlsave'
    $pv = Get-SamplePath 'pv-domain.xlsave'
    $remus = Get-SamplePath 'remus-checkpointed.libxl'
    $qevm = Get-QemuFixturePath 'pc-7.2-stopped.qevm'
}

Describe 'Get-XenMemory' -Tag 'CI' {
    It 'lists the runs of frames an image holds' {
        $runs = Get-XenMemory $hvm
        $runs | Should -Not -BeNullOrEmpty
        ($runs | Measure-Object PageCount -Sum).Sum | Should -BeGreaterThan 0
        $runs[0] | Should -BeOfType ([XenMigration.Memory.GuestMemoryRun])
    }

    It 'reads a page by frame number and the same bytes by address' {
        $byPfn = Get-XenMemory $pv -Pfn 1
        $byAddress = Get-XenMemory $pv -Address 0x1000 -Length 4096
        $byPfn.ToArray() | Should -Be $byAddress.ToArray()
        $byPfn.MissingBytes | Should -Be 0
    }

    It 'points a QEMU user at the right cmdlet when the image is Xen''s' {
        Get-QemuMemory $hvm -Address 0 -Length 16 -WarningVariable w 3>$null | Out-Null
        ($w -join ' ') | Should -Match 'Get-XenMemory'
    }

    It 'says how many checkpoints there are when asked for one too many' {
        Get-XenMemory $remus -Checkpoint 99 -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
        $e[0].Exception.Message | Should -Match 'Checkpoint 99'
    }
}

Describe 'Export-GuestMemory' -Tag 'CI' {
    It 'writes an ELF core named after the input into a folder' {
        $f = Export-GuestMemory $hvm -DestinationFolder "$TestDrive/dumps" -Format Elf -PassThru
        $f.Name | Should -Be 'hvm-domain.elf'
        $bytes = [System.IO.File]::ReadAllBytes($f.FullName)
        [System.Text.Encoding]::ASCII.GetString($bytes, 1, 3) | Should -Be 'ELF'
    }

    It 'infers ELF from the destination extension' {
        $f = Export-GuestMemory $qevm -Destination "$TestDrive/q.vmcore" -PassThru
        [System.Text.Encoding]::ASCII.GetString([System.IO.File]::ReadAllBytes($f.FullName), 1, 3) | Should -Be 'ELF'
    }

    It 'writes nothing with -WhatIf and refuses to clobber with -NoClobber' {
        Export-GuestMemory $hvm -Destination "$TestDrive/w.raw" -WhatIf
        Test-Path "$TestDrive/w.raw" | Should -BeFalse
        Set-Content "$TestDrive/keep.raw" 'precious'
        Export-GuestMemory $hvm -Destination "$TestDrive/keep.raw" -NoClobber -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'NoClobber,*'
        Get-Content "$TestDrive/keep.raw" | Should -Be 'precious'
    }

    It 'reports a damaged image and leaves nothing behind' {
        $bytes = [System.IO.File]::ReadAllBytes($hvm)
        [System.IO.File]::WriteAllBytes("$TestDrive/cut.save", $bytes[0..([int]($bytes.Length / 2))])
        Export-GuestMemory "$TestDrive/cut.save" -Destination "$TestDrive/cut.raw" -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'UnexpectedEndOfStream,*'
        @(Get-ChildItem $TestDrive -Force -Filter '*cut.raw*').Count | Should -Be 0
    }

    It 'refuses an image without guest memory' {
        $dm = "$TestDrive/devices.qemu"
        Copy-Item (Get-QemuFixturePath 'pc-i440fx-7.2.devices.qemu') $dm
        Export-GuestMemory $dm -Destination "$TestDrive/dm.raw" -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'NoGuestMemory,*'
    }
}
