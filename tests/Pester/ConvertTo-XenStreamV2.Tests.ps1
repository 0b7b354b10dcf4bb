#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:cmd = 'XenMigration.Commands.ConvertToXenStreamV2Command'

    # A small legacy HVM image written by a 64-bit toolstack: p2m_size, one page batch, the end
    # chunk, the HVM tail (magic pfns + HVM context) and the device-model record.
    function New-LegacyImage([string] $Path) {
        $ms = [System.IO.MemoryStream]::new()
        $bw = [System.IO.BinaryWriter]::new($ms)
        $bw.Write([uint64]0x100)
        $bw.Write([int]2); $bw.Write([uint64]0); $bw.Write([uint64]1)
        $bw.Write([byte[]]::new(8192))
        $bw.Write([int]0)
        $bw.Write([uint64]0xFEFFF); $bw.Write([uint64]0xFEFFE); $bw.Write([uint64]0xFEFFC)
        # HVM context: HEADER (magic, version 1) and END.
        $ctx = [System.IO.MemoryStream]::new(); $cw = [System.IO.BinaryWriter]::new($ctx)
        $cw.Write([uint16]1); $cw.Write([uint16]0); $cw.Write([uint32]24)
        $cw.Write([uint32]0x54381286); $cw.Write([uint32]1); $cw.Write([uint64]::MaxValue); $cw.Write([uint32]0); $cw.Write([uint32]0)
        $cw.Write([uint16]0); $cw.Write([uint16]0); $cw.Write([uint32]0)
        $bw.Write([uint32]$ctx.Length); $bw.Write($ctx.ToArray())
        $bw.Write([System.Text.Encoding]::ASCII.GetBytes('DeviceModelRecord0002')); $bw.Write([uint32]4); $bw.Write([byte[]](1, 2, 3, 4))
        $bw.Flush()
        [System.IO.File]::WriteAllBytes($Path, $ms.ToArray())
        Get-Item -LiteralPath $Path
    }
}

Describe 'ConvertTo-XenStreamV2' -Tag 'CI' {
    BeforeEach {
        Get-ChildItem -LiteralPath $TestDrive -Force | Remove-Item -Recurse -Force
        $script:legacy = (New-LegacyImage "$TestDrive/old.legacy").FullName
    }

    It 'converts a legacy image into a stream that Test-XenStream accepts' {
        $out = ConvertTo-XenStreamV2 -Path $legacy -Destination "$TestDrive/new.save" -GuestType Hvm -PassThru
        $out | Should -BeOfType ([System.IO.FileInfo])
        Test-XenStream $out.FullName | Should -BeTrue
        $domain = Get-XenStreamRecord $out.FullName -Type DomainHeader
        $domain.IsLegacyConverted | Should -BeTrue
        $domain.XenVersion | Should -BeNullOrEmpty
        $domain.Summary | Should -Match 'legacy converter v1'
    }

    It 'says in -Verbose which width it detected' {
        $v = ConvertTo-XenStreamV2 $legacy -Destination "$TestDrive/new.save" -GuestType Hvm -Verbose 4>&1
        ($v | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match 'Toolstack width: 64-bit \(detected'
    }

    It 'leaves nothing behind with -WhatIf' {
        ConvertTo-XenStreamV2 $legacy -Destination "$TestDrive/new.save" -GuestType Hvm -WhatIf
        "$TestDrive/new.save" | Should -Not -Exist
        @(Get-ChildItem -LiteralPath $TestDrive -Force).Count | Should -Be 1
    }

    It 'refuses to replace a file with -NoClobber' {
        Set-Content -LiteralPath "$TestDrive/new.save" -Value 'keep'
        { ConvertTo-XenStreamV2 $legacy -Destination "$TestDrive/new.save" -GuestType Hvm -NoClobber -ErrorAction Stop } |
            Should -Throw -ErrorId "NoClobber,$cmd"
        Get-Content -LiteralPath "$TestDrive/new.save" | Should -Be 'keep'
    }

    It 'needs -Force for a read-only destination' {
        Set-Content -LiteralPath "$TestDrive/new.save" -Value 'keep'
        Set-ItemProperty -LiteralPath "$TestDrive/new.save" -Name IsReadOnly -Value $true
        { ConvertTo-XenStreamV2 $legacy -Destination "$TestDrive/new.save" -GuestType Hvm -ErrorAction Stop } |
            Should -Throw -ErrorId "FileOpenFailure,$cmd"
        Get-Content -LiteralPath "$TestDrive/new.save" | Should -Be 'keep'
        ConvertTo-XenStreamV2 $legacy -Destination "$TestDrive/new.save" -GuestType Hvm -Force
        Test-XenStream "$TestDrive/new.save" | Should -BeTrue
        (Get-Item -LiteralPath "$TestDrive/new.save").IsReadOnly | Should -BeTrue
        Set-ItemProperty -LiteralPath "$TestDrive/new.save" -Name IsReadOnly -Value $false
    }

    It 'leaves no file when the conversion fails' {
        Copy-Truncated -Source $legacy -Destination "$TestDrive/cut.legacy" -Length 5000
        { ConvertTo-XenStreamV2 "$TestDrive/cut.legacy" -Destination "$TestDrive/new.save" -GuestType Hvm -ErrorAction Stop } |
            Should -Throw -ErrorId "UnexpectedEndOfStream,$cmd"
        "$TestDrive/new.save" | Should -Not -Exist
        Get-ChildItem -LiteralPath $TestDrive -Force -Filter '*.tmp' | Should -BeNullOrEmpty
    }

    It 'never writes over its input' {
        $hash = (Get-FileHash -LiteralPath $legacy).Hash
        { ConvertTo-XenStreamV2 $legacy -Destination $legacy -GuestType Hvm -ErrorAction Stop } | Should -Throw -ErrorId "DestinationIsSource,$cmd"
        (Get-FileHash -LiteralPath $legacy).Hash | Should -Be $hash
    }

    It 'converts files from Get-ChildItem into a folder' {
        Copy-Item $legacy "$TestDrive/second.legacy"
        $out = Get-ChildItem -LiteralPath $TestDrive -Filter *.legacy | ConvertTo-XenStreamV2 -DestinationFolder "$TestDrive/v2" -GuestType Hvm -PassThru
        $out.Count | Should -Be 2
        ($out | Test-XenStream) -join ',' | Should -Be 'True,True'
    }
}
