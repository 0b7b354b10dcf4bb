using System.Text;
using XenMigration.Libxc;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;

namespace XenMigration.Tests.Reliability;

/// <summary>Legacy PV images with values that once overflowed: per-file errors, and the next file is converted.</summary>
public class LegacyHostileTests
{
    private const string Cmd = "XenMigration.Commands.ConvertToXenStreamV2Command";

    private static byte[] Patch(Func<byte[], byte[]> patch) =>
        patch(LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv, Width = 64, GuestWidth = 8 }));

    private static int IndexOf(byte[] data, string ascii) => data.AsSpan().IndexOf(Encoding.ASCII.GetBytes(ascii));

    public static TheoryData<string> Cases() => new() { "vcpu block of 0x80000000 bytes", "xsave size below 16" };

    private static byte[] Build(string name) => name switch
    {
        // p2m_size (8), marker (8), total (4), then the "vcpu" block header: id (4), size (4).
        "vcpu block of 0x80000000 bytes" => Patch(d =>
        {
            BitConverter.TryWriteBytes(d.AsSpan(16), uint.MaxValue);
            BitConverter.TryWriteBytes(d.AsSpan(IndexOf(d, "vcpu") + 4), 0x80000000u);
            return d;
        }),
        "xsave size below 16" => Patch(d =>
        {
            BitConverter.TryWriteBytes(d.AsSpan(IndexOf(d, "xcnt") + 8), 8u);
            return d;
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsAPerFileErrorWithPathAndOffsetAndTheNextFileIsConverted(string name)
    {
        using var dir = new TempDir();
        string bad = dir.File("a-bad.legacy", Build(name));
        string good = dir.File("b-good.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv }));
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $a, $b -DestinationFolder $out -GuestType Pv -Width 64", ("a", bad), ("b", good), ("out", dir.Combine("out")));
        var e = Assert.Single(r.Errors);
        Assert.Equal("InvalidLegacyStream," + Cmd, e.FullyQualifiedErrorId);
        Assert.StartsWith(bad + ": ", e.ErrorDetails.Message, StringComparison.Ordinal);
        Assert.Contains("offset", e.ErrorDetails.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.Combine("out/b-good.save")));
        Assert.False(File.Exists(dir.Combine("out/a-bad.save")));
    }
}

/// <summary>Export input beyond what the dump format can hold: validation errors, never an exception.</summary>
public class XenstoreExportLimitTests
{
    [Fact]
    public void MoreThan65535PermissionsIsAValidationErrorAndNothingIsWritten()
    {
        using var dir = new TempDir();
        var r = PsHost.Run("""
            $perms = [System.Collections.Generic.List[XenMigration.Xenstore.XenstorePermission]]::new()
            foreach ($i in 0..65536) { $perms.Add([XenMigration.Xenstore.XenstorePermission]::new('Read', [uint16]($i % 65000), $false)) }
            [XenMigration.Xenstore.XenstoreNodeRecord]::new('/many', [byte[]]@(), $perms) | Export-XenstoreDump $out
            """, ("out", dir.Combine("out.dump")));
        Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId == "InvalidXenstoreData,XenMigration.Commands.ExportXenstoreDumpCommand" && e.Exception.Message.Contains("65537 permissions", StringComparison.Ordinal));
        Assert.DoesNotContain(r.Errors, e => e.Exception is OverflowException);
        Assert.False(File.Exists(dir.Combine("out.dump")));
    }
}

/// <summary>Dumps written by Xen 4.17.7's own C xenstored (tests/fixtures/xenstored-4.17).</summary>
public class RealXenstoredDumpTests
{
    public static TheoryData<string> Dumps() => new() { "c-1-basic.dump", "c-2-domains-tx-pending.dump" };

    [Theory]
    [MemberData(nameof(Dumps))]
    public void ImportPipedToExportIsByteIdentical(string name)
    {
        using var dir = new TempDir();
        string input = Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "xenstored-4.17", name);
        var r = PsHost.Run("Import-XenstoreDump -LiteralPath $in | Export-XenstoreDump -LiteralPath $out", ("in", input), ("out", dir.Combine("copy.dump")));
        r.AssertNoErrors();
        Assert.Equal(File.ReadAllBytes(input), File.ReadAllBytes(dir.Combine("copy.dump")));
    }

    [Fact]
    public void SpecialNodesAndTheRootAreNodes()
    {
        string input = Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "xenstored-4.17", "c-2-domains-tx-pending.dump");
        var r = PsHost.Run("@(Import-XenstoreDump -LiteralPath $in | Where-Object Type -eq Node | ForEach-Object Path)[0..2]", ("in", input));
        r.AssertNoErrors();
        Assert.Equal(new object[] { "@releaseDomain", "@introduceDomain", "/" }, r.Output.Select(o => o.BaseObject));
    }

    [Theory]
    [InlineData("@")]
    [InlineData("@release/Domain")]
    [InlineData("relative/path")]
    public void MalformedSpecialAndRelativePathsAreStillRefused(string path) =>
        Assert.NotNull(XenMigration.Xenstore.XenstoreFormat.CheckNodePath(path));
}

/// <summary>A legacy toolstack chunk of hundreds of thousands of physmap entries: refused, memory bounded.</summary>
public class LegacyToolstackBombTests
{
    [Fact]
    public void HugePhysmapIsRefusedWithoutGrowingMemory()
    {
        var physmaps = Enumerable.Range(0, 400_000).Select(i => new Physmap((ulong)i << 12, 0xF0000000, 0x1000, "x")).ToArray();
        byte[] input = LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Hvm, Physmaps = physmaps });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.IsType<XenMigration.XenFormatException>(Record.Exception(() =>
            XenMigration.Legacy.LegacyStreamConverter.Convert(new MemoryStream(input), Stream.Null, new XenMigration.Legacy.LegacyConversionOptions { GuestType = XenGuestType.Hvm, Width = 64, Format = XenMigration.Legacy.LegacyOutputFormat.Libxl })));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(XenMigration.XenErrorIds.InvalidLegacyStream, ex.ErrorId);
        Assert.Contains("physmap", ex.Message, StringComparison.Ordinal);
        // The 13 MB chunk is read once; before the cap, the pairs grew to ~280 MB.
        Assert.True(allocated < 64L << 20, $"allocated {allocated >> 20} MiB");
    }
}
