#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests and documents the XenMigration module.

.DESCRIPTION
    Build  - compiles the solution and lays out the importable module in out/XenMigration
             (manifest, DLLs, format and type files; external help when it has been built).
    Test   - runs the xunit suite (dotnet test; it hosts the PowerShell engine and imports the
             built module), then the Pester suite in a child PowerShell when Pester 5 is installed,
             so the module's DLL is never loaded into this session.
    Docs   - turns docs/cmdlets/*.md into MAML help in out/XenMigration/en-US with PlatyPS 0.14
             (New-ExternalHelp) when PlatyPS is installed.
    Clean  - removes out/ and the bin/obj folders.

.EXAMPLE
    ./build.ps1                      # Build (Release)
    ./build.ps1 -Task Build, Docs, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Clean', 'Build', 'Docs', 'Test')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$root = $PSScriptRoot
$moduleDir = Join-Path $root 'out/XenMigration'

function Invoke-DotNet {
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    Write-Host "dotnet $($Arguments -join ' ')"
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE."
    }
}

function Invoke-Clean {
    foreach ($dir in @(Join-Path $root 'out') + (Get-ChildItem -Path $root -Directory -Recurse -Include bin, obj | Select-Object -ExpandProperty FullName)) {
        if (Test-Path -LiteralPath $dir) {
            Remove-Item -LiteralPath $dir -Recurse -Force
        }
    }
}

function Invoke-Build {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        throw 'The .NET SDK (dotnet) is required: https://dotnet.microsoft.com/download'
    }

    # The cmdlet project's LayoutModule target writes out/XenMigration after the build.
    Invoke-DotNet build (Join-Path $root 'XenMigration.sln') -c $Configuration
    if (-not (Test-Path -LiteralPath (Join-Path $moduleDir 'XenMigration.psd1'))) {
        throw "The build did not lay out $moduleDir."
    }

    Write-Host "Module laid out in $moduleDir"
}

function Invoke-Docs {
    $platyPS = Get-Module -ListAvailable -Name platyPS | Where-Object { $_.Version -lt [version]'1.0' } |
        Sort-Object Version -Descending | Select-Object -First 1
    if (-not $platyPS) {
        Write-Warning 'PlatyPS 0.14 is not installed (Install-Module platyPS -RequiredVersion 0.14.2); external help not built.'
        return
    }

    Import-Module $platyPS -Force
    $null = New-ExternalHelp -Path (Join-Path $root 'docs/cmdlets') -OutputPath (Join-Path $moduleDir 'en-US') -Force
    Write-Host "External help written to $(Join-Path $moduleDir 'en-US')"
}

function Invoke-Test {
    Invoke-DotNet test (Join-Path $root 'XenMigration.sln') -c $Configuration

    $pester = Get-Module -ListAvailable -Name Pester | Where-Object { $_.Version -ge [version]'5.0' } |
        Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Warning 'Pester 5 is not installed (Install-Module Pester -MinimumVersion 5.0); Pester suite skipped.'
        return
    }

    # A child process, so the DLL under test is never loaded into (and locked by) this session.
    $exe = (Get-Process -Id $PID).Path
    & $exe -NoProfile -NonInteractive -File (Join-Path $root 'tests/Pester/Invoke-PesterSuite.ps1') -ModulePath (Join-Path $moduleDir 'XenMigration.psd1')
    if ($LASTEXITCODE -ne 0) {
        throw "Pester suite failed ($LASTEXITCODE failed tests)."
    }
}

foreach ($step in $Task) {
    switch ($step) {
        'Clean' { Invoke-Clean }
        'Build' { Invoke-Build }
        'Docs' { Invoke-Docs }
        'Test' { Invoke-Test }
    }
}
