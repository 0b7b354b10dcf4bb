#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

BeforeDiscovery {
    $isRootOrWindows = $IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop' -or ((& id -u 2>$null) -eq '0')
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:cmd = 'XenMigration.Commands.GetXenStreamRecordCommand'
    $script:sample = Get-SamplePath 'hvm-domain.xlsave'
}

Describe 'Get-XenStreamRecord' -Tag 'CI' {
    Context 'Reading images' {
        It 'lists every record of the sample in file order, as typed objects' {
            $records = Get-XenStreamRecord $sample
            $records[0].Type | Should -Be 'XlHeader'
            $records[-1].Type | Should -Be 'End'
            $records[-1].Layer | Should -Be 'Libxl'
            $records[0] | Should -BeOfType ([XenMigration.Records.XenStreamRecord])
            ($records.Index -join ',') | Should -Be ((0..($records.Count - 1)) -join ',')
            $records | ForEach-Object { $_.FilePath | Should -Be $sample }
        }

        It 'filters with Where-Object on the Type enum' {
            $pages = Get-XenStreamRecord $sample | Where-Object Type -eq PageData
            $pages.Count | Should -BeGreaterThan 0
            $pages | ForEach-Object { $_ | Should -BeOfType ([XenMigration.Libxc.PageDataRecord]) }
        }

        It 'filters inside the cmdlet with -Type' {
            $r = Get-XenStreamRecord $sample -Type HvmParams, TscInfo
            (($r.Type | Sort-Object -Unique) -join ',') | Should -Be 'TscInfo,HvmParams'
            ($r | Where-Object Type -eq HvmParams).Params[0].Name | Should -Be 'STORE_PFN'
        }

        It 'decodes the domain configuration of the xl header' {
            $xl = Get-XenStreamRecord $sample -Type XlHeader
            ($xl.Config | ConvertFrom-Json).c_info.name | Should -Be 'web01'
        }

        It 'expands wildcards and stays quiet when they match nothing' {
            New-TestImage -Path "$TestDrive/a.save" -Xl | Out-Null
            New-TestImage -Path "$TestDrive/b.save" -Libxl | Out-Null
            (Get-XenStreamRecord "$TestDrive/*.save" -Type DomainHeader).Count | Should -Be 2
            Get-XenStreamRecord "$TestDrive/*.nothing" -ErrorAction Stop | Should -BeNullOrEmpty
        }

        It 'reads bracketed names with -LiteralPath and from Get-ChildItem' {
            New-TestImage -Path "$TestDrive/vm [1].save" -Xl | Out-Null
            (Get-XenStreamRecord -LiteralPath "$TestDrive/vm [1].save" -Type End).Count | Should -Be 2
            (Get-ChildItem -LiteralPath $TestDrive -Filter 'vm *' | Get-XenStreamRecord -Type ImageHeader).Count | Should -Be 1
        }

        It 'keeps at most 65,536 entries of a record, and counts them all' {
            $f = "$TestDrive/many.libxc"
            $stream = [System.IO.File]::Create($f)
            $w = [XenMigration.XenStream.XenStreamWriter]::new($stream, $false, 134217728)
            try {
                $w.WriteImageHeader(3, 0)
                $w.WriteDomainHeader([XenMigration.Libxc.XenGuestType]::Hvm, 4, 19, 12)
                $w.WriteEmptyRecord(0x10)
                $words = [System.Collections.Generic.List[uint64]]::new()
                $xtab = [uint64]::Parse("F000000000000000", "HexNumber")   # page type XTAB: no contents
                for ($i = 0; $i -lt 70000; $i++) { $words.Add($xtab -bor [uint64]$i) }
                $w.WritePageData($words, [byte[]]::new(0))
                $w.WriteEmptyRecord(0)
            }
            finally { $w.Dispose() }

            $page = Get-XenStreamRecord $f -Type PageData
            $page.EntriesTruncated | Should -BeTrue
            $page.PfnCount | Should -Be 70000
            $page.Frames.Count | Should -Be 65536
            $page.LastPfn | Should -Be 69999
        }

        It 'stops reading and closes the file when Select-Object -First is satisfied' {
            $f = "$TestDrive/huge.save"
            New-TestImage -Path $f -Xl | Out-Null
            $s = [System.IO.File]::OpenWrite($f); $s.SetLength(10GB); $s.Dispose()
            (Get-XenStreamRecord $f | Select-Object -First 1).Type | Should -Be 'XlHeader'
            { $s = [System.IO.File]::Open($f, 'Open', 'ReadWrite', 'None'); $s.Dispose() } | Should -Not -Throw
        }

        It 'shows a table with hexadecimal offsets grouped by file' {
            $text = Get-XenStreamRecord $sample | Out-String -Width 200
            $text | Should -Match 'Offset\s+Index\s+Layer\s+Type\s+Length\s+Summary'
            $text | Should -Match '0x00000000\s+0\s+Xl\s+XlHeader'
        }
    }

    Context 'Errors' {
        It 'reports a missing file as FileNotFound and carries on' {
            $r = Get-XenStreamRecord "$TestDrive/missing.save", $sample -Type End -ErrorVariable err -ErrorAction SilentlyContinue
            $r.Count | Should -Be 2
            $err[0].FullyQualifiedErrorId | Should -Be "FileNotFound,$cmd"
            { Get-XenStreamRecord -LiteralPath "$TestDrive/missing.save" -ErrorAction Stop } | Should -Throw -ErrorId "FileNotFound,$cmd"
        }

        It 'refuses non-file-system paths and directories' {
            { Get-XenStreamRecord Env:\PATH -ErrorAction Stop } | Should -Throw -ErrorId "OnlySupportsFileSystemPaths,$cmd"
            { Get-XenStreamRecord -LiteralPath $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId "PathIsDirectory,$cmd"
        }

        It 'emits the good records of a truncated file, then UnexpectedEndOfStream with the offset' {
            $cut = "$TestDrive/cut.save"
            Copy-Truncated -Source $sample -Destination $cut -Length 5000
            $r = Get-XenStreamRecord $cut -ErrorVariable err -ErrorAction SilentlyContinue
            $r.Count | Should -BeGreaterThan 5
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "UnexpectedEndOfStream,$cmd"
            $err[0].TargetObject | Should -Be $cut
            $err[0].Exception.Offset | Should -Be 5000
            $err[0].Exception.Message | Should -Match 'offset 5000'
        }

        It 'refuses files of other formats naming them' {
            Set-Content -LiteralPath "$TestDrive/notes.txt" -Value 'not a VM image'
            { Get-XenStreamRecord "$TestDrive/notes.txt" -ErrorAction Stop } | Should -Throw -ErrorId "UnrecognizedFormat,$cmd"
            [System.IO.File]::WriteAllBytes("$TestDrive/dump", [byte[]]([byte[]][char[]]'xenstore' + [byte[]]::new(16)))
            { Get-XenStreamRecord "$TestDrive/dump" -ErrorAction Stop } | Should -Throw -ErrorId "UnsupportedFormat,$cmd"
        }

        It 'reports a file it may not read as UnauthorizedAccessError' -Skip:$isRootOrWindows {
            $f = "$TestDrive/secret.save"
            New-TestImage -Path $f | Out-Null
            chmod 000 $f
            { Get-XenStreamRecord $f -ErrorAction Stop } | Should -Throw -ErrorId "UnauthorizedAccessError,$cmd"
        }
    }
}
