#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# The module as a user gets it: ./build.ps1 -Task Package makes the .nupkg; PSResourceGet installs it
# from a local repository folder into the CurrentUser scope of a scratch home directory; a fresh pwsh
# imports it by name, runs a cmdlet and reads its help; then it is uninstalled.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $manifestPath = Join-Path $root 'XenMigration.psd1'
    $manifest = Import-PowerShellDataFile -LiteralPath $manifestPath
    $version = $manifest.ModuleVersion
    $build = Invoke-ChildPwsh -Arguments @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'build.ps1'), '-Task', 'Package')
    $packages = Join-Path $root 'out/packages'
    $nupkg = Join-Path $packages "XenMigration.$version.nupkg"

    # A scratch home: CurrentUser installs and the repository list go there, not into the real one.
    $home2 = New-Item -ItemType Directory -Path "$TestDrive/home" -Force
    $userEnv = @{ HOME = $home2.FullName; XDG_DATA_HOME = $null; XDG_CONFIG_HOME = $null; XDG_CACHE_HOME = $null; PSModulePath = $null; XENMIGRATION_MODULE = $null }
    $sample = Get-SamplePath 'hvm-domain.xlsave'
}

Describe 'Package and install' {
    It 'builds a package named by the manifest''s version' {
        $build.ExitCode | Should -Be 0 -Because $build.Output
        $nupkg | Should -Exist
    }

    It 'holds the manifest, DLLs, formats, types, help, the script, LICENSE and README' {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [System.IO.Compression.ZipFile]::OpenRead($nupkg)
        try { $entries = $zip.Entries.FullName } finally { $zip.Dispose() }
        foreach ($f in 'XenMigration.psd1', 'XenMigration.PowerShell.dll', 'XenMigration.Core.dll', 'XenMigration.format.ps1xml',
            'XenMigration.types.ps1xml', 'en-US/XenMigration.PowerShell.dll-Help.xml', 'en-US/about_XenMigration.help.txt',
            'xen-validate.ps1', 'LICENSE', 'README.md', 'XenMigration.nuspec') {
            $entries | Should -Contain $f
        }
    }

    It 'passes Test-ModuleManifest, with what it exports exactly what the built module has' {
        $built = Join-Path $root 'out/XenMigration/XenMigration.psd1'
        $m = Test-ModuleManifest -Path $built
        $m.Version | Should -Be ([version]$version)
        $m.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        @($m.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($manifest.CmdletsToExport | Sort-Object)
        $m.PrivateData.PSData.ReleaseNotes | Should -Match $version
        $m.PrivateData.PSData.ProjectUri | Should -Not -BeNullOrEmpty
        $m.PrivateData.PSData.LicenseUri | Should -Not -BeNullOrEmpty
    }

    It 'installs with Install-PSResource, imports by name in a fresh pwsh, runs, has help, and uninstalls' {
        $install = Invoke-ChildPwsh -Environment $userEnv -Arguments @('-NoProfile', '-NonInteractive', '-Command', @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name local -Uri '$packages' -Trusted
Install-PSResource XenMigration -Repository local -Scope CurrentUser -Version '$version'
(Get-InstalledPSResource XenMigration -Scope CurrentUser).Version.ToString()
"@)
        $install.ExitCode | Should -Be 0 -Because $install.Output
        $install.Output | Should -Match ([regex]::Escape($version))

        $use = Invoke-ChildPwsh -Environment $userEnv -Arguments @('-NoProfile', '-NonInteractive', '-Command', @"
`$ErrorActionPreference = 'Stop'
Import-Module XenMigration
`$m = Get-Module XenMigration
'base=' + `$m.ModuleBase
'version=' + `$m.Version
'cmdlets=' + ((`$m.ExportedCmdlets.Keys | Sort-Object) -join ',')
'formats=' + (`$m.ExportedFormatFiles.Count)
'types=' + (`$m.ExportedTypeFiles.Count)
'valid=' + (Test-XenStream -LiteralPath '$sample')
'synopsis=' + (Get-Help Test-XenStream).Synopsis
'about=' + ((Get-Help about_XenMigration | Out-String) -match 'XenMigration')
"@)
        $use.ExitCode | Should -Be 0 -Because $use.Output
        $use.Output | Should -Match ('base=' + [regex]::Escape($home2.FullName))
        $use.Output | Should -Match "version=$([regex]::Escape($version))"
        $use.Output | Should -Match ('cmdlets=' + [regex]::Escape((($manifest.CmdletsToExport | Sort-Object) -join ',')))
        $use.Output | Should -Match 'formats=1'
        $use.Output | Should -Match 'types=1'
        $use.Output | Should -Match 'valid=True'
        $use.Output | Should -Match 'synopsis=Verifies Xen save'
        $use.Output | Should -Match 'about=True'

        $remove = Invoke-ChildPwsh -Environment $userEnv -Arguments @('-NoProfile', '-NonInteractive', '-Command', @"
`$ErrorActionPreference = 'Stop'
Uninstall-PSResource XenMigration -Scope CurrentUser
'left=' + @(Get-Module -ListAvailable XenMigration).Count
"@)
        $remove.ExitCode | Should -Be 0 -Because $remove.Output
        $remove.Output | Should -Match 'left=0'
    }
}
