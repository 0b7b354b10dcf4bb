#
# Module manifest for XenMigration. ModuleVersion is the one version source: Directory.Build.props
# reads it, so the assemblies' and the package's versions follow it. Release notes: CHANGELOG.md.
#
@{
    RootModule             = 'XenMigration.PowerShell.dll'
    ModuleVersion          = '0.2.0'
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
        'Export-XenStream'
        'Export-XenstoreDump'
        'Get-QemuCpuState'
        'Get-QemuDeviceState'
        'Get-QemuMemory'
        'Get-XenHvmContext'
        'Get-XenMemory'
        'Get-XenSaveInfo'
        'Get-XenStreamRecord'
        'Import-XenstoreDump'
        'Invoke-XenStreamValidation'
        'Measure-XenStream'
        'Set-QemuDeviceState'
        'Set-XenHvmContext'
        'Set-XenHvmParam'
        'Set-XenSaveConfig'
        'Set-XenTscInfo'
        'Test-XenStream'
    )
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            LicenseUri   = 'https://github.com/XenMigration/XenMigration/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/XenMigration/XenMigration'
            Tags         = @('Xen', 'XenServer', 'XCP-ng', 'Migration', 'SaveImage', 'QEMU', 'libvirt', 'Hypervisor', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux')
            ReleaseNotes = @'
0.2.0: XenServer/XCP-ng suspend images and libvirt libxl saves opened by magic; guest memory out of any
image (Get-XenMemory, Export-GuestMemory: sparse raw and ELF cores for crash, gdb, drgn); what an image
is and what changed (Get-XenSaveInfo, Compare-XenStream, Measure-XenStream) and restore-compatibility
rules in Test-XenStream; safe rewriting (Export-XenStream, Set-XenHvmContext, Set-XenHvmParam,
Set-XenTscInfo, Set-XenSaveConfig); fleet validation with reports (Invoke-XenStreamValidation).
Full notes: https://github.com/XenMigration/XenMigration/blob/main/CHANGELOG.md
'@
        }
    }
}
