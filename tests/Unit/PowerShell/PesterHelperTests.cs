using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Records;

namespace XenMigration.Tests.PowerShell;

/// <summary>
/// Pester cannot run here, so the helpers its tests depend on are run in the real engine: they
/// build images through the module's public writer API, as the Pester suite does.
/// </summary>
public class PesterHelperTests
{
    [Fact]
    public void NewTestImageAndCopyTruncatedWorkInTheEngine()
    {
        using var dir = new TempDir();
        string helpers = Path.Combine(Fixtures.RepoRoot, "tests", "Pester", "TestHelpers.psm1");
        var r = PsHost.Run("""
            Import-Module $helpers -Force
            $a = New-TestImage -Path "$d/a.save" -Xl
            $b = New-TestImage -Path "$d/b.save" -Libxl -Pages 3
            $c = New-TestImage -Path "$d/c.save"
            Copy-Truncated -Source $a.FullName -Destination "$d/cut.save" -Length 100
            $a.FullName; $b.FullName; $c.FullName
            """, ("helpers", helpers), ("d", dir.Path));
        r.AssertNoErrors();
        Assert.Equal(3, r.Output.Count);
        var xl = Core.ReaderHelpers.ReadAll(File.ReadAllBytes(dir.Combine("a.save")));
        Assert.Equal(XenRecordType.XlHeader, xl[0].Type);
        Assert.Equal(XenRecordType.End, xl[^1].Type);
        Assert.Equal(XenLayer.Libxl, xl[^1].Layer);
        Assert.Equal(3, Core.ReaderHelpers.ReadAll(File.ReadAllBytes(dir.Combine("b.save"))).OfType<XenMigration.Libxc.PageDataRecord>().Single().DataPageCount);
        Assert.Equal(XenRecordType.ImageHeader, Core.ReaderHelpers.ReadAll(File.ReadAllBytes(dir.Combine("c.save")))[0].Type);
        Assert.Equal(100, new FileInfo(dir.Combine("cut.save")).Length);
    }
}
