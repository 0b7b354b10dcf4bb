#Requires -Version 5.1
<#
.SYNOPSIS
    Runs the Pester suite against a built module (build.ps1 -Task Test calls this in a child process).
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/XenMigration/XenMigration.psd1'),
    [string[]] $ExcludeTag = @('Slow')
)

$ErrorActionPreference = 'Stop'
Import-Module Pester -MinimumVersion 5.0
$env:XENMIGRATION_MODULE = (Resolve-Path -LiteralPath $ModulePath).ProviderPath

$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.Exit = $true
$config.Filter.ExcludeTag = $ExcludeTag
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = Join-Path $PSScriptRoot '../../out/test-results/pester.xml'
$null = New-Item -ItemType Directory -Force -Path (Split-Path $config.TestResult.OutputPath.Value)
Invoke-Pester -Configuration $config
