#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# PowerShell remoting over SSH to localhost, as users scale out: a private sshd (own port, keys and
# config under TestDrive) with this pwsh as its PowerShell subsystem, the module saved from the
# package, and cmdlets run through Invoke-Command. The objects come back deserialized; the views and
# filters must still work on them. Runs where openssh-server is installed (.ci/run installs it) and
# says why it is skipped elsewhere.

BeforeDiscovery {
    $sshd = '/usr/sbin/sshd'
    $canRun = $IsLinux -and (Test-Path $sshd) -and (Get-Command ssh-keygen -ErrorAction SilentlyContinue) -and (Get-Command ssh -ErrorAction SilentlyContinue)
    $skipReason = if ($canRun) { $null } else { 'openssh-server (sshd, ssh, ssh-keygen) is not installed: remoting over SSH is not tested here' }
}

Describe 'Remoting over SSH to localhost' -Skip:(-not $canRun) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
        Import-XenMigrationUnderTest
        $root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
        $dir = (New-Item -ItemType Directory -Path "$TestDrive/ssh" -Force).FullName
        & ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" | Out-Null
        & ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" | Out-Null
        Copy-Item "$dir/client_key.pub" "$dir/authorized_keys"
        & chmod 600 "$dir/authorized_keys" "$dir/host_key" "$dir/client_key"

        # The subsystem runs this very PowerShell (pwsh, or dotnet with the tool's pwsh.dll).
        $exe = [Environment]::ProcessPath
        $dll = if ((Split-Path -Leaf $exe) -like 'dotnet*') { [Environment]::GetCommandLineArgs()[0] } else { '' }
        Set-Content -LiteralPath "$dir/pwsh-subsystem" -Value "#!/bin/sh`nexec '$exe' $(if ($dll) { "'$dll'" }) -sshs -NoLogo -NoProfile`n"
        & chmod 755 "$dir/pwsh-subsystem"
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $user = [Environment]::UserName
        Set-Content -LiteralPath "$dir/sshd_config" -Value @"
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem powershell $dir/pwsh-subsystem
"@
        New-Item -ItemType Directory -Path /run/sshd -Force -ErrorAction SilentlyContinue | Out-Null
        $daemon = Start-Process -FilePath /usr/sbin/sshd -ArgumentList '-D', '-e', '-f', "$dir/sshd_config" -PassThru -RedirectStandardError "$dir/sshd.log"
        Start-Sleep -Milliseconds 500

        # The module as a user has it: saved from the package build.ps1 -Task Package wrote.
        $packages = Join-Path $root 'out/packages'
        if (-not (Get-ChildItem -LiteralPath $packages -Filter 'XenMigration.*.nupkg' -ErrorAction SilentlyContinue)) {
            $build = Invoke-ChildPwsh -Arguments @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'build.ps1'), '-Task', 'Package')
            if ($build.ExitCode -ne 0) { throw $build.Output }
        }
        $modules = (New-Item -ItemType Directory -Path "$TestDrive/modules" -Force).FullName
        $repository = 'XmRemoting' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        Register-PSResourceRepository -Name $repository -Uri $packages -Trusted
        try { Save-PSResource -Name XenMigration -Repository $repository -Path $modules -TrustRepository } finally { Unregister-PSResourceRepository -Name $repository }
        $remoteModule = (Get-ChildItem -LiteralPath $modules -Recurse -Filter XenMigration.psd1 | Select-Object -First 1).FullName

        $sample = Get-SamplePath 'hvm-domain.xlsave'
        $pv = Get-SamplePath 'pv-domain.xlsave'
        $connect = @{
            HostName    = '127.0.0.1'
            Port        = $port
            UserName    = $user
            KeyFilePath = "$dir/client_key"
            Options     = @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
        }
        $session = New-PSSession @connect -ErrorAction Stop
        $connect.HostName = 'localhost'   # a second "host": another name for the same machine
        $session2 = New-PSSession @connect -ErrorAction Stop
        Invoke-Command -Session $session, $session2 -ScriptBlock { param($m) Import-Module $m } -ArgumentList $remoteModule
    }

    AfterAll {
        if ($session) { Remove-PSSession $session }
        if ($session2) { Remove-PSSession $session2 }
        if ($daemon -and -not $daemon.HasExited) { Stop-Process -Id $daemon.Id -Force }
    }

    It 'runs Test-XenStream -Detailed remotely; the result keeps its type name, view and issues' {
        $r = Invoke-Command -Session $session -ScriptBlock { param($f) Test-XenStream -LiteralPath $f -Detailed } -ArgumentList $sample
        $r.pstypenames[0] | Should -Be 'Deserialized.XenMigration.Verification.XenStreamValidationResult'
        $r.IsValid | Should -BeTrue
        $r.PSComputerName | Should -Be '127.0.0.1'
        ($r | Format-Table | Out-String) | Should -Match 'IsValid\s+Format\s+GuestType\s+ErrorCount'
        $r.XenVersion.Major | Should -BeGreaterThan 3
    }

    It 'filters remote records by enum name on the calling side' {
        $records = Invoke-Command -Session $session -ScriptBlock { param($f) Get-XenStreamRecord -LiteralPath $f } -ArgumentList $sample
        @($records | Where-Object Type -eq PageData).Count | Should -BeGreaterThan 0
        @($records | Where-Object Type -eq HvmContext).Count | Should -Be 1
        ($records | Select-Object -First 3 | Format-Table | Out-String) | Should -Match 'XlHeader'
    }

    It 'brings HVM vCPU registers back with their view' {
        $cpu = Invoke-Command -Session $session -ScriptBlock { param($f) Get-XenHvmContext -LiteralPath $f -TypeCode Cpu } -ArgumentList $sample
        $cpu.Count | Should -Be 2
        $text = $cpu | Format-Table | Out-String
        $text | Should -Match 'Vcpu\s+Mode\s+Rip'
        $text | Should -Match ('0x{0:x}' -f [uint64]$cpu[0].Rip)
    }

    It 'aggregates a fleet report across hosts' {
        # Two "hosts" (two names of this machine): one report, rows tagged with where they came from.
        $rows = Invoke-Command -Session $session, $session2 -ScriptBlock { param($a, $b) Invoke-XenStreamValidation -LiteralPath $a, $b } -ArgumentList $sample, $pv
        $rows.Count | Should -Be 4
        @($rows | Where-Object Verdict -eq Valid).Count | Should -Be 4
        ($rows | Group-Object PSComputerName).Name | Sort-Object | Should -Be @('127.0.0.1', 'localhost')
        ($rows | Format-Table | Out-String) | Should -Match 'Verdict\s+ErrorCount'
    }
}
