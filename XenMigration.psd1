#
# Module manifest for XenMigration. The module version below is a placeholder in the repository; the
# build fills it in from Directory.Build.props when it lays out out/XenMigration.
#
@{
    RootModule             = 'XenMigration.PowerShell.dll'
    ModuleVersion          = '{{ModuleVersion}}'
    CompatiblePSEditions   = @('Desktop', 'Core')
    GUID                   = '6f0c6a52-2b8e-4f0e-9c1a-5d6f3b7e2a91'
    Author                 = 'XenMigration contributors'
    CompanyName            = 'XenMigration'
    Copyright              = '(c) XenMigration contributors. All rights reserved.'
    Description            = 'Reads, verifies and converts Xen virtual-machine save and migration images (xl, libxl, libxc streams, legacy images, xenstore dumps, and the QEMU device, CPU and memory state in Xen HVM images, QEMU migration streams and libvirt save images) as typed PowerShell objects.'
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('XenMigration.format.ps1xml')
    TypesToProcess         = @('XenMigration.types.ps1xml')
    FunctionsToExport      = @()
    CmdletsToExport        = @(
        'Compare-XenStream'
        'ConvertTo-XenStreamV2'
        'Export-GuestMemory'
        'Export-XenstoreDump'
        'Get-QemuCpuState'
        'Get-QemuDeviceState'
        'Get-QemuMemory'
        'Get-XenHvmContext'
        'Get-XenMemory'
        'Get-XenSaveInfo'
        'Get-XenStreamRecord'
        'Import-XenstoreDump'
        'Measure-XenStream'
        'Test-XenStream'
    )
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            LicenseUri   = 'https://github.com/XenMigration/XenMigration/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/XenMigration/XenMigration'
            Tags         = @('Xen', 'XenServer', 'XCP-ng', 'Migration', 'SaveImage', 'QEMU', 'libvirt', 'Hypervisor', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux')
            ReleaseNotes = 'See README.md.'
        }
    }
}
