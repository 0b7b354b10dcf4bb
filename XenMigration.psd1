#
# Module manifest for XenMigration. {{ModuleVersion}} is filled in from Directory.Build.props when
# the module is laid out in out/XenMigration (dotnet build, or ./build.ps1 -Task Build).
#
@{
    RootModule             = 'XenMigration.PowerShell.dll'
    ModuleVersion          = '{{ModuleVersion}}'
    CompatiblePSEditions   = @('Desktop', 'Core')
    GUID                   = '6f0c6a52-2b8e-4f0e-9c1a-5d6f3b7e2a91'
    Author                 = 'XenMigration contributors'
    CompanyName            = 'XenMigration'
    Copyright              = '(c) XenMigration contributors. All rights reserved.'
    Description            = 'Reads, verifies and converts Xen virtual-machine save and migration images (xl, libxl, libxc streams, legacy images, xenstore dumps) as typed PowerShell objects.'
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('XenMigration.format.ps1xml')
    TypesToProcess         = @('XenMigration.types.ps1xml')
    FunctionsToExport      = @()
    CmdletsToExport        = @(
        'ConvertTo-XenStreamV2'
        'Export-XenstoreDump'
        'Get-XenStreamRecord'
        'Import-XenstoreDump'
        'Test-XenStream'
    )
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('Xen', 'XenServer', 'XCP-ng', 'Migration', 'SaveImage', 'Hypervisor', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux')
            ReleaseNotes = 'See README.md.'
        }
    }
}
