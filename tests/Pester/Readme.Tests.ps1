#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Runs every example of README.md's first PowerShell block, as written, on fixture files laid out
# where the examples look for them (the absolute /var/lib/xen/save is mapped into TestDrive).

BeforeDiscovery {
    $readme = Get-Content -Raw -LiteralPath (Join-Path $PSScriptRoot '../../README.md')
    $block = [regex]::Match($readme, '(?s)```powershell\r?\n(.*?)```').Groups[1].Value
    $examples = @($block -split '\r?\n' | Where-Object { $_.Trim() } | ForEach-Object {
            @{ Line = ($_ -replace '\s+#.*$', '').Trim() }
        })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $fixtures = Join-Path $PSScriptRoot '../fixtures'

    $save = New-Item -ItemType Directory -Force -Path "$TestDrive/var/lib/xen/save"
    Copy-Item (Get-SamplePath 'hvm-domain.xlsave') "$TestDrive/vm.save"
    Copy-Item (Get-SamplePath 'hvm-domain.xlsave') "$save/web01.save"
    Copy-Item (Get-SamplePath 'pv-domain.xlsave') "$save/dns01.save"
    New-TestImage -Path "$save/broken.save" -Xl | Out-Null     # no HVM_CONTEXT: readable, not restorable
    Copy-Item "$fixtures/legacy/hvm-w64.legacy", "$fixtures/legacy/hvm-w32.legacy" -Destination $TestDrive
    Copy-Item "$fixtures/xenstored-4.17/c-2-domains-tx-pending.dump" "$TestDrive/xenstore.dump"
    Copy-Item "$fixtures/qemu/q35-7.2-stopped.qevm" "$TestDrive/guest.qevm"
    New-HpetImage -Path "$TestDrive/win.save" -Timer0Config 0xf0000000002934 | Out-Null   # the frozen image of the xen-devel report
    Copy-Item "$fixtures/qemu/libvirt-pc-7.2-gzip.save" "$TestDrive/libvirt.save"

    # What each example must produce.
    $script:expect = @{
        'Get-XenStreamRecord ./vm.save'                      = { param($out) $out[0].Type | Should -Be 'XlHeader'; $out[-1].Type | Should -Be 'End' }
        'Where-Object Type -eq PageData'                     = { param($out) $out.Count | Should -BeGreaterThan 2; $out.Type | Should -Not -Contain 'End'; ($out.FilePath | Sort-Object -Unique).Count | Should -Be 3 }
        'Get-XenStreamRecord -Type HvmParams, TscInfo'       = { param($out) ($out.Type | Sort-Object -Unique) -join ',' | Should -Be 'TscInfo,HvmParams' }
        'Test-XenStream'                                     = { param($out) @($out).Count | Should -Be 1; $out.FilePath | Should -BeLike '*broken.save'; $out.Issues.Code | Should -Contain 'HvmContextMissing' }
        'ConvertTo-XenStreamV2'                              = { param($out) @($out).Count | Should -Be 2; $out | ForEach-Object { $_ | Should -BeTrue }; (Get-ChildItem "$TestDrive/v2").Count | Should -Be 2 }
        'Import-XenstoreDump'                                = { param($out) $out.Count | Should -BeGreaterThan 2; $out | ForEach-Object { $_.Path | Should -BeLike '/local/domain/1/*' } }
        'Get-QemuDeviceState -Name hpet'                     = { param($out) @($out).Count | Should -Be 1; $out[0].IdStr | Should -Be 'hpet'; $out[0].Fields.Count | Should -BeGreaterThan 3 }
        'Get-XenHvmContext -TypeCode Hpet'                  = { param($out) $out.Count | Should -Be 3; $out[0].Periodic | Should -BeFalse; $out[0].Route | Should -Be 20 }
        'Get-XenHvmContext -Path ./win.save -TypeCode Cpu'   = { param($out) ($out | Out-String) | Should -Match 'Instance' }
        'Get-QemuCpuState'                                   = { param($out) ($out | Out-String) | Should -Match '0xb7b9' }
        'Get-QemuMemory'                                     = { param($out) $out[0].Bytes[0] | Should -Be 0xEA; $out[0].BlockName | Should -Be 'pc.bios' }
    }
}

Describe 'README example' -Tag 'CI' -ForEach $examples {
    It '<Line>' {
        $script = $Line -replace '/var/lib/xen/save', "$TestDrive/var/lib/xen/save"
        Push-Location -LiteralPath $TestDrive
        $ErrorActionPreference = 'Stop'   # any error record of an example fails it
        try {
            $out = @(& ([scriptblock]::Create($script)))
        }
        finally {
            Pop-Location
        }

        $key = @($expect.Keys | Where-Object { $Line.Contains($_) } | Sort-Object Length -Descending)[0]
        $key | Should -Not -BeNullOrEmpty -Because 'every README example needs an expectation here'
        & $expect[$key] $out
    }
}
