using System.Management.Automation;
using System.Text;
using XenMigration.TestSupport;
using XenMigration.Xenstore;

namespace XenMigration.Tests.PowerShell;

public class XenstoreDumpTests
{
    private const string Import = "XenMigration.Commands.ImportXenstoreDumpCommand";
    private const string Export = "XenMigration.Commands.ExportXenstoreDumpCommand";

    [Fact]
    public void ImportWritesTypedRecordsThatFilterByTypeAndPath()
    {
        using var dir = new TempDir();
        string dump = dir.File("xenstore.dump", XenstoreDumps.Write(XenstoreDumps.AllTypes(2)));
        var r = PsHost.Run("""
            $all = Import-XenstoreDump $f
            $all.Count
            (Import-XenstoreDump $f | Where Type -eq Node | Where Path -like '/local/domain/7/*').Count
            (Import-XenstoreDump -LiteralPath $f -Type Watch, WatchExtended).Count
            $all | Out-Host
            """, ("f", dump));
        r.AssertNoErrors();
        Assert.Equal(new object[] { 19, 4, 3 }, r.Output.Select(o => o.BaseObject));
        string text = System.Text.RegularExpressions.Regex.Replace(r.HostText, "\u001b\\[[0-9;]*m", string.Empty);
        Assert.Contains("FilePath: " + dump, text);
        Assert.Matches(@"0x[0-9a-f]{8}\s+Node\s+/local/domain/7/name = ""web01"" \[n7,r0\(stale\)\]", text);
    }

    [Fact]
    public void ImportErrorsCarryOffsetsAndPointXenImagesToGetXenStreamRecord()
    {
        using var dir = new TempDir();
        byte[] full = XenstoreDumps.Write(XenstoreDumps.AllTypes(2));
        string cut = dir.File("cut.dump", full.AsSpan(0, 100).ToArray());
        string image = dir.File("vm.save", ImageBuilder.Build(new ImageSpec()));
        var r = PsHost.Run("Import-XenstoreDump $c, $i", ("c", cut), ("i", image));
        Assert.Equal(new[] { "UnexpectedEndOfStream," + Import, "UnsupportedFormat," + Import }, r.Errors.Select(e => e.FullyQualifiedErrorId));
        Assert.Contains("offset 100", r.Errors[0].Exception.Message);
        Assert.Contains("Get-XenStreamRecord", r.Errors[1].ErrorDetails.Message);
        Assert.NotEmpty(r.Objects<XenstoreRecord>());
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void ImportExportPassThroughIsByteIdentical(int version, bool bigEndian)
    {
        using var dir = new TempDir();
        byte[] original = XenstoreDumps.Write(XenstoreDumps.AllTypes((uint)version), (uint)version, bigEndian);
        string input = dir.File("in.dump", original);
        var r = PsHost.Run("Import-XenstoreDump $in | Export-XenstoreDump $out", ("in", input), ("out", dir.Combine("out.dump")));
        r.AssertNoErrors();
        Assert.Equal(original, File.ReadAllBytes(dir.Combine("out.dump")));
    }

    [Fact]
    public void FilteringKeepsWhatRemainsValid()
    {
        using var dir = new TempDir();
        var perms = new[] { new XenstorePermission(XenstoreAccess.None, 0) };
        var records = new List<XenstoreRecord>
        {
            XenstoreDumps.Node("/tool", Array.Empty<byte>(), perms),
            XenstoreDumps.Node("/tool/xenstored", Array.Empty<byte>(), perms),
            XenstoreDumps.Node("/vm", Array.Empty<byte>(), perms),
            XenstoreDumps.Node("/vm/x", Array.Empty<byte>(), perms),
            XenstoreDumps.Node("/vm/x/name", Encoding.ASCII.GetBytes("web01"), perms),
        };
        string a = dir.File("a.dump", XenstoreDumps.Write(records));
        var r = PsHost.Run("Import-XenstoreDump $a | Where { $_.Path -notlike '/tool*' } | Export-XenstoreDump $b", ("a", a), ("b", dir.Combine("b.dump")));
        r.AssertNoErrors();
        Assert.Equal(XenstoreDumps.Write(records.Skip(2)), File.ReadAllBytes(dir.Combine("b.dump")));
    }

    [Fact]
    public void EmulatorXenstoreDataGoesUnderTheRoot()
    {
        using var dir = new TempDir();
        string image = dir.File("vm.save", ImageBuilder.Build(new ImageSpec()));
        var r = PsHost.Run("""
            Get-XenStreamRecord $img -Type EmulatorXenstoreData | Export-XenstoreDump $out -Root /local/domain/0/device-model/7 -Owner 0 -PassThru
            """, ("img", image), ("out", dir.Combine("dm.dump")));
        r.AssertNoErrors();
        Assert.IsType<FileInfo>(Assert.Single(r.Output).BaseObject);
        var nodes = XenstoreDumps.Read(File.ReadAllBytes(dir.Combine("dm.dump"))).OfType<XenstoreNodeRecord>().ToList();
        const string Root = "/local/domain/0/device-model/7";
        Assert.Equal(new[] { Root + "/physmap", Root + "/physmap/f0000000", Root + "/physmap/f0000000/start_addr", Root + "/physmap/f0000000/size", Root + "/physmap/f0000000/name" }, nodes.Select(n => n.Path));
        Assert.Equal("vga.vram", nodes[^1].Value);
        Assert.All(nodes, n => Assert.Equal("n0", string.Join(",", n.Permissions)));

        var noRoot = PsHost.Run("Get-XenStreamRecord $img -Type EmulatorXenstoreData | Export-XenstoreDump $out", ("img", image), ("out", dir.Combine("x.dump")));
        Assert.Equal(new[] { "InvalidInputObject," + Export, "NothingWritten," + Export }, noRoot.Errors.Select(e => e.FullyQualifiedErrorId));
        Assert.False(File.Exists(dir.Combine("x.dump")));
    }

    [Fact]
    public void PlainObjectsHashtablesAndCsvStyleStringsBecomeNodes()
    {
        using var dir = new TempDir();
        var r = PsHost.Run("""
            [pscustomobject]@{ Path = '/vm/x/name'; Value = 'web01'; Owner = 0 },
            @{ Path = '/vm/x/uuid'; Value = '4f2a'; Permissions = 'n5,r0' },
            [pscustomobject]@{ Path = '/vm/x/blob'; Value = [byte[]](0, 1, 2); Owner = '7' },
            [pscustomobject]@{ Path = 'memory'; Value = 1024 } |
                Export-XenstoreDump $out -Root /vm/x -Owner 3
            """, ("out", dir.Combine("one.dump")));
        r.AssertNoErrors();
        var nodes = XenstoreDumps.Read(File.ReadAllBytes(dir.Combine("one.dump"))).OfType<XenstoreNodeRecord>().ToList();
        Assert.Equal(new[] { "/vm/x/name=web01 [n0]", "/vm/x/uuid=4f2a [n5,r0]", "/vm/x/blob=3 bytes [n7]", "/vm/x/memory=1024 [n3]" },
            nodes.Select(n => n.Path + "=" + (n.Value ?? n.ValueBytes.Length + " bytes") + " [" + string.Join(",", n.Permissions) + "]"));
    }

    [Fact]
    public void InvalidInputWritesNothing()
    {
        using var dir = new TempDir();
        string existing = dir.File("out.dump", "previous"u8.ToArray());
        var r = PsHost.Run("""
            [pscustomobject]@{ Path = '/ok'; Value = 'x' },
            [pscustomobject]@{ Path = '/bad path!'; Value = 'x' },
            [pscustomobject]@{ Path = '/ok'; Value = 'again' },
            [pscustomobject]@{ Path = '/perm'; Permissions = 'x9' } | Export-XenstoreDump $out
            """, ("out", existing));
        var ids = r.Errors.Select(e => e.FullyQualifiedErrorId).ToList();
        Assert.Contains("InvalidInputObject," + Export, ids);
        Assert.Equal("NothingWritten," + Export, ids[^1]);
        Assert.Equal("previous", File.ReadAllText(existing));

        var r2 = PsHost.Run("""
            [pscustomobject]@{ Path = '/ok'; Value = 'x' },
            [pscustomobject]@{ Path = '/bad path!'; Value = 'x' },
            [pscustomobject]@{ Path = '/ok'; Value = 'again' } | Export-XenstoreDump $out
            """, ("out", existing));
        Assert.Contains(r2.Errors, e => e.FullyQualifiedErrorId == "InvalidXenstoreData," + Export && e.Exception.Message.Contains("contains ' '", StringComparison.Ordinal));
        Assert.Contains(r2.Errors, e => e.FullyQualifiedErrorId == "InvalidXenstoreData," + Export && e.Exception.Message.Contains("appears twice", StringComparison.Ordinal));
        Assert.Equal("previous", File.ReadAllText(existing));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void WriterConventionsVersionAndByteOrder()
    {
        using var dir = new TempDir();
        string existing = dir.File("out.dump", "keep"u8.ToArray());
        var noClobber = PsHost.Run("[pscustomobject]@{ Path = '/a' } | Export-XenstoreDump $out -NoClobber", ("out", existing));
        Assert.Equal("NoClobber," + Export, Assert.Single(noClobber.Errors).FullyQualifiedErrorId);
        var whatIf = PsHost.Run("[pscustomobject]@{ Path = '/a' } | Export-XenstoreDump $out -WhatIf", ("out", dir.Combine("new.dump")));
        whatIf.AssertNoErrors();
        Assert.False(File.Exists(dir.Combine("new.dump")));
        Assert.Equal("keep", File.ReadAllText(existing));

        var be = PsHost.Run("[pscustomobject]@{ Path = '/a'; Value = 'v' } | Export-XenstoreDump $out -Version 1 -BigEndian", ("out", dir.Combine("be.dump")));
        be.AssertNoErrors();
        var header = (XenstoreHeaderRecord)XenstoreDumps.Read(File.ReadAllBytes(dir.Combine("be.dump")))[0];
        Assert.Equal((1u, true), (header.Version, header.IsBigEndian));

        // An imported v2 dump re-exported as version 1 converts what it can.
        string v2 = dir.File("v2.dump", XenstoreDumps.Write(XenstoreDumps.AllTypes(1), 2, false));
        var down = PsHost.Run("Import-XenstoreDump $in | Export-XenstoreDump $out -Version 1", ("in", v2), ("out", dir.Combine("v1.dump")));
        down.AssertNoErrors();
        Assert.Equal(1u, ((XenstoreHeaderRecord)XenstoreDumps.Read(File.ReadAllBytes(dir.Combine("v1.dump")))[0]).Version);
    }
}
