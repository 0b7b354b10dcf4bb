#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# The help a user gets from Get-Help: built by the build from docs/ (MAML and an about_ topic).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $cmdlets = @(Get-Command -Module XenMigration -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-XenMigrationUnderTest
    $script:common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
}

Describe 'Help of <Name>' -Tag 'CI' -ForEach $cmdlets {
    BeforeAll {
        $script:help = Get-Help $Name -Full
        $script:command = Get-Command $Name
    }

    It 'comes from the module''s MAML file' {
        $command.HelpFile | Should -Match 'XenMigration\.PowerShell\.dll-Help\.xml$'
        Test-Path -LiteralPath (Join-Path (Get-Module XenMigration).ModuleBase "en-US/XenMigration.PowerShell.dll-Help.xml") | Should -BeTrue
    }

    It 'has a synopsis that is not just the syntax' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s+\["
    }

    It 'has a description' {
        ($help.Description.Text -join "`n").Length | Should -BeGreaterThan 100
    }

    It 'describes every parameter' {
        $names = $command.Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($p in $names) {
            $entry = $help.Parameters.Parameter | Where-Object Name -eq $p
            $entry | Should -Not -BeNullOrEmpty -Because "-$p must be documented"
            ($entry.Description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }

    It 'has at least two examples, each with code' {
        $examples = @($help.Examples.Example)
        $examples.Count | Should -BeGreaterOrEqual 2
        $examples | ForEach-Object { $_.Code | Should -Not -BeNullOrEmpty }
    }

    It 'names its output types' {
        $documented = @($help.ReturnValues.ReturnValue.Type.Name)
        foreach ($t in $command.OutputType) {
            $documented | Should -Contain $t.Name
        }
    }
}

Describe 'about_XenMigration' -Tag 'CI' {
    It 'is found by Get-Help' {
        $text = Get-Help about_XenMigration | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'Get-XenStreamRecord'
        $text | Should -Match 'Test-XenStream'
    }
}
