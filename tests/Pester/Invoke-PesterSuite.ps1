#Requires -Version 5.1
<#
.SYNOPSIS
    Runs the Pester suite against a built module (build.ps1 -Task Test calls this in a child process).
.DESCRIPTION
    Imports Pester from -PesterPath (the NuGet package's tools/ folder that the test project
    restores) or, failing that, from the module path. Exits with the number of failed tests; a
    missing Pester is a failure (exit code 1000), never a silent skip.
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/XenMigration/XenMigration.psd1'),
    [string] $PesterPath,
    [string] $ResultPath = (Join-Path $PSScriptRoot '../../out/test-results/pester.xml'),
    [string[]] $ExcludeTag = @('Slow')
)

$ErrorActionPreference = 'Stop'
if ($PSVersionTable.PSVersion.Major -ge 7) { $PSStyle.OutputRendering = 'PlainText' }

try {
    if ($PesterPath) {
        Import-Module $PesterPath -Force
    }
    else {
        Import-Module Pester -MinimumVersion 5.0
    }
}
catch {
    Write-Host "Pester 5 could not be loaded ($($_.Exception.Message)): the Pester suite cannot run."
    exit 1000
}

$env:XENMIGRATION_MODULE = (Resolve-Path -LiteralPath $ModulePath).ProviderPath

$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.Exit = $true
$config.Filter.ExcludeTag = $ExcludeTag
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'JUnitXml'
$config.TestResult.OutputPath = $ResultPath
$null = New-Item -ItemType Directory -Force -Path (Split-Path $ResultPath)
Invoke-Pester -Configuration $config
