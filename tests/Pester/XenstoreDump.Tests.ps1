#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:export = 'XenMigration.Commands.ExportXenstoreDumpCommand'
    $script:import = 'XenMigration.Commands.ImportXenstoreDumpCommand'
}

Describe 'Import-XenstoreDump and Export-XenstoreDump' -Tag 'CI' {
    BeforeEach {
        Get-ChildItem -LiteralPath $TestDrive -Force | Remove-Item -Recurse -Force
        $script:dump = "$TestDrive/xenstore.dump"
        @(
            [pscustomobject]@{ Path = '/local'; Owner = 0 }
            [pscustomobject]@{ Path = '/local/domain'; Owner = 0 }
            [pscustomobject]@{ Path = '/local/domain/7'; Permissions = 'n7,r0' }
            [pscustomobject]@{ Path = '/local/domain/7/name'; Value = 'web01'; Permissions = 'n7,r0' }
            [pscustomobject]@{ Path = '/tool'; Owner = 0 }
            [pscustomobject]@{ Path = '/tool/xenstored'; Value = 'x'; Owner = 0 }
        ) | Export-XenstoreDump $dump
    }

    It 'imports typed records that filter by type and node path' {
        $nodes = Import-XenstoreDump $dump | Where-Object Type -eq Node | Where-Object Path -like '/local/domain/7/*'
        $nodes.Path | Should -Be '/local/domain/7/name'
        $nodes.Value | Should -Be 'web01'
        $nodes.Owner | Should -Be 7
        (Import-XenstoreDump $dump)[0].Type | Should -Be 'Header'
    }

    It 'passes an imported dump through unchanged' {
        Import-XenstoreDump $dump | Export-XenstoreDump "$TestDrive/copy.dump"
        (Get-FileHash "$TestDrive/copy.dump").Hash | Should -Be (Get-FileHash $dump).Hash
    }

    It 'drops filtered records' {
        Import-XenstoreDump $dump | Where-Object { $_.Path -notlike '/tool*' } | Export-XenstoreDump "$TestDrive/b.dump"
        (Import-XenstoreDump "$TestDrive/b.dump" -Type Node).Path -join ',' | Should -Be '/local,/local/domain,/local/domain/7,/local/domain/7/name'
    }

    It 'writes the emulator xenstore data of a saved domain under -Root' {
        Get-XenStreamRecord (Get-SamplePath 'hvm-domain.xlsave') -Type EmulatorXenstoreData |
            Export-XenstoreDump "$TestDrive/dm.dump" -Root /local/domain/0/device-model/7 -Owner 0
        $name = Import-XenstoreDump "$TestDrive/dm.dump" -Type Node | Where-Object Path -like '*/name'
        $name.Value | Should -Be 'vga.vram'
    }

    It 'takes Import-Csv output' {
        "Path,Value,Permissions`n/vm/x/uuid,4f2a,`"n5,r0`"" | Set-Content "$TestDrive/nodes.csv"
        Import-Csv "$TestDrive/nodes.csv" | Export-XenstoreDump "$TestDrive/csv.dump" -Version 1
        $node = Import-XenstoreDump "$TestDrive/csv.dump" -Type Node
        ($node.Permissions | ForEach-Object ToString) -join ',' | Should -Be 'n5,r0'
    }

    It 'writes nothing when the input is invalid' {
        { [pscustomobject]@{ Path = 'relative' } | Export-XenstoreDump "$TestDrive/bad.dump" -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidInputObject,$export"
        "$TestDrive/bad.dump" | Should -Not -Exist
    }

    It 'honours -WhatIf and -NoClobber' {
        [pscustomobject]@{ Path = '/a' } | Export-XenstoreDump "$TestDrive/w.dump" -WhatIf
        "$TestDrive/w.dump" | Should -Not -Exist
        { [pscustomobject]@{ Path = '/a' } | Export-XenstoreDump $dump -NoClobber -ErrorAction Stop } | Should -Throw -ErrorId "NoClobber,$export"
    }

    It 'reports a truncated dump with its offset' {
        Copy-Truncated -Source $dump -Destination "$TestDrive/cut.dump" -Length 40
        { Import-XenstoreDump "$TestDrive/cut.dump" -ErrorAction Stop } | Should -Throw -ErrorId "UnexpectedEndOfStream,$import"
    }
}
