#Requires -Version 5.1
<#
.SYNOPSIS
    Validates every Xen save image under the given folders, writes a report, and exits with a code
    a scheduler acts on: 0 all images valid, 1 some invalid or unreadable, 2 the run itself failed.

.DESCRIPTION
    The scheduled-job wrapper of Invoke-XenStreamValidation, for systemd timers, cron and the Windows
    Task Scheduler (see Get-Help Invoke-XenStreamValidation -Full and docs/scheduled-validation.md).
    It loads the XenMigration module it was installed with, passes its parameters on, prints one
    summary line, and sets the process exit code.

.EXAMPLE
    pwsh -NoProfile -NonInteractive -File ./xen-validate.ps1 -Path /var/lib/xen/save -Recurse -ReportPath /var/log/xen-validate/nightly.json,/var/log/xen-validate/nightly.csv -Incremental

    Under -File every argument is one string: give several values separated by commas, as above.
    (A parameter that does not bind makes pwsh itself exit with 1 before the script runs.)
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory, Position = 0)] [string[]] $Path,
    [switch] $Recurse,
    [string[]] $Include,
    [string[]] $Exclude,
    [string[]] $ReportPath,
    [switch] $Incremental,
    [ValidateRange(1, 256)] [int] $ThrottleLimit = [Environment]::ProcessorCount,
    [switch] $Strict
)

$ErrorActionPreference = 'Stop'
try {
    # Next to its manifest when run from the module; the installed module when run from a copy.
    $manifest = Join-Path $PSScriptRoot 'XenMigration.psd1'
    if (Test-Path -LiteralPath $manifest) { Import-Module -Name $manifest -ErrorAction Stop }
    else { Import-Module -Name XenMigration -ErrorAction Stop }
    # pwsh -File passes each argument as one string: "a.json,a.csv" means two values, as it would in PowerShell.
    function Split-List([string[]] $Values, [switch] $KeepExisting) {
        foreach ($v in $Values) {
            if ($KeepExisting -and (Test-Path -LiteralPath $v)) { $v } else { $v -split ',' | Where-Object { $_ } }
        }
    }
    # A copy (Windows PowerShell 5.1 cannot add a dictionary to a hashtable).
    $arguments = @{}
    foreach ($key in $PSBoundParameters.Keys) { if ($key -ne 'Path') { $arguments[$key] = $PSBoundParameters[$key] } }
    foreach ($name in 'ReportPath', 'Include', 'Exclude') {
        if ($arguments.ContainsKey($name)) { $arguments[$name] = @(Split-List $arguments[$name]) }
    }
    $Path = @(Split-List $Path -KeepExisting)
    # Folders or files that cannot be read are reported and the run goes on; they fail it at the end.
    $rows = @(Invoke-XenStreamValidation -LiteralPath $Path @arguments -ErrorAction Continue -ErrorVariable problems)
    $invalid = @($rows | Where-Object { -not $_.IsValid })
    $reused = @($rows | Where-Object Reused).Count
    $line = '{0} images: {1} valid, {2} invalid or unreadable, {3} unchanged since the last report' -f $rows.Count, ($rows.Count - $invalid.Count), $invalid.Count, $reused
    Write-Output $line
    foreach ($row in $invalid) {
        Write-Output ('{0}: {1} - {2}' -f $row.Path, $row.Verdict, $row.FirstError)
    }
    if ($problems.Count -gt 0) {
        foreach ($p in $problems) { [Console]::Error.WriteLine($p.ToString()) }
        exit 2
    }
    if ($invalid.Count -gt 0) { exit 1 }
    exit 0
}
catch {
    [Console]::Error.WriteLine("xen-validate: $($_.Exception.Message)")
    exit 2
}
