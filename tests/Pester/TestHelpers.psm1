# Helpers shared by the Pester tests. Images are built with the module's own public writer
# (XenMigration.XenStream.XenStreamWriter), so the tests need nothing but the built module.

function Import-XenMigrationUnderTest {
    $path = if ($env:XENMIGRATION_MODULE) { $env:XENMIGRATION_MODULE } else { Join-Path $PSScriptRoot '../../out/XenMigration/XenMigration.psd1' }
    Import-Module $path -Force -Global -ErrorAction Stop
}

function Get-SamplePath {
    param([Parameter(Mandatory)] [string] $Name)
    (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot "../../samples/$Name")).ProviderPath
}

function Get-QemuFixturePath {
    <# A real QEMU 7.2 stream of tests/fixtures/qemu (made by make-fixtures.sh). #>
    param([Parameter(Mandatory)] [string] $Name)
    (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot "../fixtures/qemu/$Name")).ProviderPath
}

function New-TestImage {
    <# Writes a small libxc v3 HVM image (optionally inside libxl and an xl header) to $Path. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [int] $Pages = 8,
        [switch] $Libxl,
        [switch] $Xl
    )
    $stream = [System.IO.File]::Create($Path)
    $w = [XenMigration.XenStream.XenStreamWriter]::new($stream, $false, 134217728)
    try {
        if ($Xl) { $w.WriteXlHeader([XenMigration.Xl.XlMandatoryFlags]'Json, StreamV2', '{"c_info":{"name":"pester"}}', $false) }
        if ($Xl -or $Libxl) { $w.WriteLibxlHeader(0); $w.WriteEmptyRecord(1) }
        $w.WriteImageHeader(3, 0)
        $w.WriteDomainHeader([XenMigration.Libxc.XenGuestType]::Hvm, 4, 19, 12)
        $w.WriteEmptyRecord(0x10)
        $words = [System.Collections.Generic.List[uint64]]::new()
        for ($i = 0; $i -lt $Pages; $i++) { $words.Add([uint64]$i) }
        $w.WritePageData($words, [byte[]]::new(4096 * $Pages))
        $w.WriteTscInfo([XenMigration.Libxc.TscMode]::Default, 2400000, 1, 1)
        $w.WriteEmptyRecord(0)
        if ($Xl -or $Libxl) { $w.WriteEmptyRecord(0) }
    }
    finally {
        $w.Dispose()
    }
    [System.IO.FileInfo]::new($Path)
}

function New-HpetImage {
    <# An xl save file of an HVM guest whose HVM context holds the HPET state published on xen-devel
       (April 2021): timer 0's config is the parameter (0x...2934 froze, 0x...293c resumed). #>
    param([Parameter(Mandatory)] [string] $Path, [uint64] $Timer0Config = 0xf0000000002934, [uint64] $Counter = 0x97b90bc74)
    $t = [System.Collections.Generic.List[System.ValueTuple[uint64, uint64, uint64]]]::new()
    $t.Add([System.ValueTuple[uint64, uint64, uint64]]::new($Timer0Config, 0xfd4aa84cL, 0))
    $t.Add([System.ValueTuple[uint64, uint64, uint64]]::new(0xf0000000000130, 0xffffffffL, 0))
    $t.Add([System.ValueTuple[uint64, uint64, uint64]]::new(0xf0000000000130, 0xffffffffL, 0))
    $cpu = [byte[]]::new(1032)
    $blob = [XenMigration.HvmContext.HvmContextBuilder]::new().AddHeader(0x906ea, 0).
        Add([XenMigration.HvmContext.HvmTypeCode]::Cpu, 0, $cpu).
        AddHpet(0xf424008086a201, 3, 0, $Counter, $t, [uint64[]](0xee6b2, 0, 0)).AddEnd().ToArray()
    $stream = [System.IO.File]::Create($Path)
    $w = [XenMigration.XenStream.XenStreamWriter]::new($stream, $false, 134217728)
    try {
        $w.WriteXlHeader([XenMigration.Xl.XlMandatoryFlags]'Json, StreamV2', '{"c_info":{"name":"win10"}}', $false)
        $w.WriteLibxlHeader(0); $w.WriteEmptyRecord(1)
        $w.WriteImageHeader(3, 0)
        $w.WriteDomainHeader([XenMigration.Libxc.XenGuestType]::Hvm, 4, 12, 12)
        $w.WriteEmptyRecord(0x10)
        $w.WriteHvmContext($blob)
        $w.WriteEmptyRecord(0)
        $w.WriteEmptyRecord(0)
    }
    finally {
        $w.Dispose()
    }
    [System.IO.FileInfo]::new($Path)
}

function Copy-Truncated {
    <# Copies the first $Length bytes of $Source to $Destination. #>
    param([string] $Source, [string] $Destination, [long] $Length)
    $bytes = [System.IO.File]::ReadAllBytes($Source)
    [System.IO.File]::WriteAllBytes($Destination, $bytes[0..($Length - 1)])
}

function Invoke-ChildPwsh {
    <#
    Runs this PowerShell (pwsh, or dotnet with the tool's pwsh.dll) as a new process with
    $Arguments, as a scheduler or a user's shell would; -Environment sets variables for it only.
    Returns the exit code and the output (stdout and stderr) as one string.
    #>
    param([string[]] $Arguments, [hashtable] $Environment = @{})
    $exe = [Environment]::ProcessPath
    $prefix = @()
    if ((Split-Path -Leaf $exe) -like 'dotnet*') { $prefix = @([Environment]::GetCommandLineArgs()[0]) }
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    try {
        $out = & $exe @prefix @Arguments 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out | Out-String) }
    }
    finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

Export-ModuleMember -Function Import-XenMigrationUnderTest, Get-SamplePath, Get-QemuFixturePath, New-HpetImage, New-TestImage, Copy-Truncated, Invoke-ChildPwsh
