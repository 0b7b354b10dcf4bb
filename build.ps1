#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests and documents the XenMigration module.

.DESCRIPTION
    Build  - compiles the solution and lays out the importable module in out/XenMigration
             (manifest, DLLs, format and type files, and the help built from docs/).
    Docs   - rebuilds only the help: docs/cmdlets/*.md -> out/XenMigration/en-US/
             XenMigration.PowerShell.dll-Help.xml (MAML) and docs/about/*.md -> about_*.help.txt,
             with tools/HelpBuilder (Markdig; PlatyPS is not needed).
    Test   - runs the xunit suite (dotnet test; it hosts the PowerShell engine and imports the built
             module), then the Pester suite in a child PowerShell, so the module's DLL is never
             loaded into this session. Pester 5.9.1 comes from the NuGet package that the test
             project restores; if it cannot be found the task fails. Both suites write result files
             to out/test-results (xunit.trx, pester.xml); the task reads them, prints the totals as
             "N passed, N failed, N skipped" and fails if any test failed or a result file is missing.
    Package - builds, then packs out/XenMigration into out/packages/XenMigration.<version>.nupkg with
             PSResourceGet's Publish-PSResource (the package Install-PSResource installs), through
             a temporary local repository registered for the run and removed after it. The version
             is the manifest's ModuleVersion, the one version source.
    Clean  - removes out/ and the bin/obj folders.

.EXAMPLE
    dotnet tool restore; dotnet pwsh -NoProfile -File ./build.ps1 -Task Test

    The test command of README.md: on a machine with only the .NET SDK, the local tool manifest
    provides PowerShell 7.6.9 (dotnet pwsh).

.EXAMPLE
    ./build.ps1                      # Build (Release)
    ./build.ps1 -Task Clean, Build, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Clean', 'Build', 'Docs', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($PSVersionTable.PSVersion.Major -ge 7) { $PSStyle.OutputRendering = 'PlainText' }

$root = $PSScriptRoot
$moduleDir = Join-Path $root 'out/XenMigration'
$resultsDir = Join-Path $root 'out/test-results'
$pesterVersion = '5.9.1'

function Invoke-DotNet {
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    Write-Host "dotnet $($Arguments -join ' ')"
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE."
    }
}

function Assert-DotNet {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        throw 'The .NET SDK (dotnet) is required: https://dotnet.microsoft.com/download'
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
    Assert-DotNet
    # The cmdlet project's LayoutModule target writes out/XenMigration, the help builder en-US/.
    Invoke-DotNet build (Join-Path $root 'XenMigration.sln') -c $Configuration
    foreach ($file in 'XenMigration.psd1', 'en-US/XenMigration.PowerShell.dll-Help.xml', 'en-US/about_XenMigration.help.txt') {
        if (-not (Test-Path -LiteralPath (Join-Path $moduleDir $file))) {
            throw "The build did not lay out $(Join-Path $moduleDir $file)."
        }
    }

    Write-Host "Module laid out in $moduleDir"
}

function Invoke-Docs {
    Assert-DotNet
    Invoke-DotNet build (Join-Path $root 'tools/HelpBuilder/XenMigration.HelpBuilder.csproj') -c $Configuration
}

function Get-PesterManifest {
    # The NuGet package folder: NUGET_PACKAGES when set, else what dotnet reports.
    $folders = @()
    if ($env:NUGET_PACKAGES) { $folders += $env:NUGET_PACKAGES }
    $listed = & dotnet nuget locals global-packages --list 2>$null
    foreach ($line in @($listed)) {
        if ($line -match '^global-packages:\s*(.+)$') { $folders += $Matches[1].Trim() }
    }

    foreach ($folder in $folders) {
        $psd1 = Join-Path $folder "pester/$pesterVersion/tools/Pester.psd1"
        if (Test-Path -LiteralPath $psd1) { return $psd1 }
    }

    return $null
}

function Get-ChildPowerShell {
    # $PSHOME holds the engine's own executable, also under 'dotnet pwsh' (where the process is dotnet).
    foreach ($name in 'pwsh.exe', 'pwsh', 'powershell.exe') {
        $exe = Join-Path $PSHOME $name
        if (Test-Path -LiteralPath $exe -PathType Leaf) { return $exe }
    }

    throw "No PowerShell executable in $PSHOME to run the Pester suite in."
}

function Read-TestResult {
    <# Totals from a TRX (xunit) or JUnit (Pester) results file. #>
    param([string] $Path, [string] $Suite)
    if (-not (Test-Path -LiteralPath $Path)) {
        return [pscustomobject]@{ Suite = $Suite; Passed = 0; Failed = 1; Skipped = 0; Note = "no result file ($Path)" }
    }

    [xml] $xml = Get-Content -LiteralPath $Path -Raw
    if ($xml.DocumentElement.LocalName -eq 'TestRun') {
        $c = $xml.DocumentElement.ResultSummary.Counters
        $failed = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
        return [pscustomobject]@{ Suite = $Suite; Passed = [int]$c.passed; Failed = $failed; Skipped = [int]$c.notExecuted; Note = $Path }
    }

    $s = $xml.DocumentElement
    $total = [int]$s.tests; $failed = [int]$s.failures + [int]$s.errors
    $skipped = [int]$s.GetAttribute('skipped') + [int]$s.GetAttribute('disabled')
    return [pscustomobject]@{ Suite = $Suite; Passed = $total - $failed - $skipped; Failed = $failed; Skipped = $skipped; Note = $Path }
}

function Invoke-Test {
    Assert-DotNet
    if (Test-Path -LiteralPath $resultsDir) { Remove-Item -LiteralPath $resultsDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Force -Path $resultsDir
    $trx = Join-Path $resultsDir 'xunit.trx'
    $junit = Join-Path $resultsDir 'pester.xml'

    # xunit. A failing test makes dotnet test exit non-zero; the totals still come from the TRX.
    Write-Host "dotnet test XenMigration.sln -c $Configuration"
    & dotnet test (Join-Path $root 'XenMigration.sln') -c $Configuration --logger "trx;LogFileName=$trx" --logger 'console;verbosity=normal'
    $xunitExit = $LASTEXITCODE

    # Pester, in a child process, on the built module.
    $pester = Get-PesterManifest
    $pesterExit = 0
    if (-not $pester) {
        Write-Host "Pester $pesterVersion was not found in the NuGet package folder (the test project restores it): the Pester suite cannot run."
        $pesterExit = 1000
    }
    else {
        $exe = Get-ChildPowerShell
        Write-Host "Pester $pesterVersion ($pester) on $exe"
        & $exe -NoProfile -NonInteractive -File (Join-Path $root 'tests/Pester/Invoke-PesterSuite.ps1') `
            -ModulePath (Join-Path $moduleDir 'XenMigration.psd1') -PesterPath $pester -ResultPath $junit
        $pesterExit = $LASTEXITCODE
    }

    $results = @(
        Read-TestResult -Path $trx -Suite 'xunit'
        if ($pester) { Read-TestResult -Path $junit -Suite 'Pester' } else { [pscustomobject]@{ Suite = 'Pester'; Passed = 0; Failed = 1; Skipped = 0; Note = 'Pester missing' } }
    )
    $results | Format-Table Suite, Passed, Failed, Skipped, Note -AutoSize | Out-Host
    $passed = ($results | Measure-Object Passed -Sum).Sum
    $failed = ($results | Measure-Object Failed -Sum).Sum
    $skipped = ($results | Measure-Object Skipped -Sum).Sum
    if ($failed -eq 0 -and ($xunitExit -ne 0 -or $pesterExit -ne 0)) {
        $failed = 1   # a build or host failure before any test could report
    }

    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -ne 0) {
        throw "Tests failed: $failed (xunit exit $xunitExit, Pester exit $pesterExit)."
    }
}

function Invoke-Package {
    Invoke-Build
    if (-not (Get-Command Publish-PSResource -ErrorAction SilentlyContinue)) {
        throw 'Packaging needs PSResourceGet (Publish-PSResource), which PowerShell 7.4 and later ship: run build.ps1 with dotnet pwsh.'
    }

    $manifest = Import-PowerShellDataFile -LiteralPath (Join-Path $moduleDir 'XenMigration.psd1')
    $packages = Join-Path $root 'out/packages'
    $nupkg = Join-Path $packages ('XenMigration.{0}.nupkg' -f $manifest.ModuleVersion)
    New-Item -ItemType Directory -Path $packages -Force | Out-Null
    # Publishing refuses a version that is already there: a rebuild replaces it.
    Remove-Item -LiteralPath $nupkg -ErrorAction SilentlyContinue
    $repository = 'XenMigrationBuild' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    Register-PSResourceRepository -Name $repository -Uri $packages -Trusted
    try {
        Publish-PSResource -Path $moduleDir -Repository $repository -SkipDependenciesCheck
    }
    finally {
        Unregister-PSResourceRepository -Name $repository
    }

    if (-not (Test-Path -LiteralPath $nupkg)) {
        throw "Publish-PSResource did not write $nupkg."
    }

    Write-Host "Package: $nupkg"
}

foreach ($step in $Task) {
    switch ($step) {
        'Clean' { Invoke-Clean }
        'Build' { Invoke-Build }
        'Docs' { Invoke-Docs }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}
