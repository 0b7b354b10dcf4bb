using System.Buffers.Binary;
using System.Text;
using XenMigration.Framing;
using XenMigration.TestSupport;
using XenMigration.Xenstore;
using static XenMigration.TestSupport.XenstoreDumps;

namespace XenMigration.Tests.Core;

public class XenstoreTests
{
    public static TheoryData<uint, bool> Variants() => new() { { 1, false }, { 2, false }, { 1, true }, { 2, true } };

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryRecordTypeRoundTripsThroughTheWriterAndReader(uint version, bool bigEndian)
    {
        var source = AllTypes(version);
        byte[] dump = Write(source, version, bigEndian);
        foreach (bool seekable in new[] { true, false })
        {
            var read = Read(dump, seekable);
            var header = Assert.IsType<XenstoreHeaderRecord>(read[0]);
            Assert.Equal(version, header.Version);
            Assert.Equal(bigEndian, header.IsBigEndian);
            Assert.IsType<XenstoreEndRecord>(read[^1]);
            var body = read.Skip(1).Take(read.Count - 2).ToList();
            Assert.Equal(source.Count, body.Count);
            for (int i = 0; i < source.Count; i++)
            {
                Assert.Equal(source[i].Type, body[i].Type);
                Assert.Equal(source[i].Summary, body[i].Summary);
                Assert.Equal(0, body[i].Length % 8);
            }
        }

        var records = Read(dump);
        var socket = records.OfType<XenstoreConnectionRecord>().Single(c => c.ConnectionType == XenstoreConnectionType.Socket);
        Assert.Equal((9, 3, 0xDEADBEEF12345678UL), (socket.SocketFd, (int)socket.OutResponseLength, socket.UniqueId!.Value));
        Assert.Equal(new byte[] { 1, 2, 3 }, socket.InData);
        Assert.Equal("OK\0partial", Encoding.ASCII.GetString(socket.OutData.ToArray()));
        var ring = records.OfType<XenstoreConnectionRecord>().Single(c => c.ConnectionType == XenstoreConnectionType.SharedRing);
        Assert.Equal((7, 23u, XenstoreFormat.DomidInvalid), (ring.DomainId, ring.EventChannel, ring.TargetDomainId));
        Assert.Null(ring.UniqueId);

        var data = records.OfType<XenstoreNodeRecord>().Single(n => n.Path == "/local/domain/7/data" && !n.IsPending);
        Assert.Equal(new byte[] { 0, 1, 2, 0xFF }, data.ValueBytes);
        Assert.False(data.ValueIsText);
        Assert.Null(data.Value);
        Assert.Equal((ushort)7, data.Owner);
        Assert.True(data.Permissions[1].Stale);
        var name = records.OfType<XenstoreNodeRecord>().Single(n => n.Path == "/local/domain/7/name" && !n.IsPending);
        Assert.Equal("web01", name.Value);
        var deleted = records.OfType<XenstoreNodeRecord>().Single(n => n.IsPending && n.Path.EndsWith("data", StringComparison.Ordinal));
        Assert.True(deleted.IsDeleted);
        var pendingName = records.OfType<XenstoreNodeRecord>().Single(n => n.IsPending && n.Path.EndsWith("name", StringComparison.Ordinal));
        Assert.Equal((1u, 42u, XenstoreNodeAccess.Read | XenstoreNodeAccess.Written), (pendingName.ConnectionId, pendingName.TransactionId, pendingName.Access));

        var quota = records.OfType<XenstoreGlobalQuotaRecord>().Single();
        Assert.Equal(new[] { "nodes=1000", "watches=128" }, quota.DomainQuotas.Select(q => q.ToString()));
        Assert.Equal("memory=0", quota.GlobalQuotas.Single().ToString());
        var domain = records.OfType<XenstoreDomainRecord>().Single();
        Assert.Equal(version >= 2 ? 1u : 0u, domain.Features);
        if (version >= 2)
        {
            var ext = records.OfType<XenstoreWatchRecord>().Single(w => w.Type == XenstoreRecordType.WatchExtended);
            Assert.Equal((ushort)2, ext.Depth);
            Assert.Equal(XenstoreWatchLayout.Spec, ext.Layout);
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void ImportThenExportIsByteIdentical(uint version, bool bigEndian)
    {
        byte[] dump = Write(AllTypes(version), version, bigEndian);
        var plan = new XenstoreDumpPlan();
        foreach (XenstoreRecord r in Read(dump))
        {
            plan.Add(r);
        }

        var output = new MemoryStream();
        plan.Write(output, version, bigEndian);
        Assert.Equal(dump, output.ToArray());
    }

    [Fact]
    public void SpecStyleLengthsAreReadAndWrittenBackWithPaddingInside()
    {
        // A NODE_DATA whose length excludes its padding (the spec's convention).
        byte[] body = new ByteBuilder().U32(0).U32(0).U16(3).U16(2).U16(0).U16(1).U8((byte)'b').U8(0).U16(0).Text("/a", true).Text("xy", false).ToArray();
        Assert.NotEqual(0, body.Length % 8);
        byte[] dump = Header().Concat(SpecStyle(5, body)).Concat(SpecStyle(0, Array.Empty<byte>())).ToArray();
        var node = Read(dump).OfType<XenstoreNodeRecord>().Single();
        Assert.Equal(("/a", "xy", body.Length), (node.Path, node.Value!, (int)node.Length));

        // The same dump read and written again is unchanged; re-encoded (other byte order) it pads inside.
        var plan = new XenstoreDumpPlan();
        Read(dump).ForEach(plan.Add);
        var same = new MemoryStream();
        plan.Write(same, 2, false);
        Assert.Equal(dump, same.ToArray());
        var swapped = new MemoryStream();
        plan.Write(swapped, 2, true);
        var again = Read(swapped.ToArray()).OfType<XenstoreNodeRecord>().Single();
        Assert.Equal(0, again.Length % 8);
        Assert.Equal("xy", again.Value);
    }

    [Fact]
    public void VersionAndByteOrderConversionsReEncode()
    {
        byte[] v2 = Write(AllTypes(2), 2, false);
        var plan = new XenstoreDumpPlan();
        Read(v2).ForEach(plan.Add);
        // The depth-limited watch cannot be written as version 1.
        Assert.Contains(plan.Validate(1), e => e.Contains("needs version 2", StringComparison.Ordinal));

        var be = new MemoryStream();
        plan.Write(be, 2, true);
        var records = Read(be.ToArray());
        Assert.True(((XenstoreHeaderRecord)records[0]).IsBigEndian);
        Assert.Equal(Read(v2).Select(r => r.Summary), records.Select(r => r.Summary).Select((s, i) => i == 0 ? Read(v2)[0].Summary : s));
    }

    [Theory]
    [InlineData(XenstoreWatchLayout.Spec)]
    [InlineData(XenstoreWatchLayout.CStruct)]
    [InlineData(XenstoreWatchLayout.CWriter)]
    public void AllThreeWatchExtendedLayoutsAreRecognised(XenstoreWatchLayout layout)
    {
        var b = new ByteBuilder().U32(3).U16(5).U16(4);
        if (layout != XenstoreWatchLayout.CWriter)
        {
            b.U16(6);
        }

        if (layout == XenstoreWatchLayout.Spec)
        {
            b.U16(0);
        }

        b.Text("/a/b", true).Text("tok", true).PadTo(8);
        byte[] dump = Header().Concat(new ByteBuilder().U32(8).U32((uint)b.Length).Bytes(b.Span).ToArray()).Concat(SpecStyle(0, Array.Empty<byte>())).ToArray();
        var watch = Read(dump).OfType<XenstoreWatchRecord>().Single();
        Assert.Equal(layout, watch.Layout);
        Assert.Equal(("/a/b", "tok", 3u), (watch.WatchPath, watch.Token, watch.ConnectionId));
        Assert.Equal(layout == XenstoreWatchLayout.CWriter ? null : (ushort?)6, watch.Depth);
        Assert.Contains(layout.ToString(), watch.Summary);
    }

    [Fact]
    public void TruncationAtEveryOffsetIsATruncation()
    {
        byte[] dump = Write(AllTypes(2), 2, false);
        for (int cut = 0; cut < dump.Length; cut++)
        {
            var ex = Record.Exception(() => Read(dump.AsSpan(0, cut).ToArray()));
            var t = Assert.IsType<XenTruncatedException>(ex);
            Assert.Equal(cut, t.Offset);
        }
    }

    [Fact]
    public void MalformedDumpsAreClearErrors()
    {
        Assert.Equal(XenErrorIds.UnsupportedVersion, Fault(Header(3).Concat(SpecStyle(0, Array.Empty<byte>())).ToArray()).ErrorId);
        byte[] flags = Header();
        flags[15] = 4;
        Assert.Equal(XenErrorIds.InvalidHeader, Fault(flags.Concat(SpecStyle(0, Array.Empty<byte>())).ToArray()).ErrorId);

        var image = Assert.IsType<XenUnsupportedFormatException>(Record.Exception(() => Read(ImageBuilder.Build(new ImageSpec()))));
        Assert.Equal(DetectedFormat.XlSaveFile, image.Format);
        Assert.Equal(XenErrorIds.UnrecognizedFormat, Fault(Encoding.ASCII.GetBytes("just some text, no dump")).ErrorId);

        byte[] huge = Header().Concat(new ByteBuilder().U32(5).U32(0x7FFFFFFF).ToArray()).ToArray();
        Assert.Equal(XenErrorIds.RecordTooLarge, Fault(huge).ErrorId);

        // A node whose path runs past the record, and one with a bad permission letter.
        byte[] pastEnd = new ByteBuilder().U32(0).U32(0).U16(200).U16(0).U16(0).U16(0).Text("/a", true).PadTo(8).ToArray();
        var ex = Fault(Header().Concat(SpecStyle(5, pastEnd)).Concat(SpecStyle(0, Array.Empty<byte>())).ToArray());
        Assert.Equal(XenErrorIds.InvalidRecord, ex.ErrorId);
        Assert.Equal(16, ex.Offset);
        Assert.Equal("Node", ex.RecordName);
        byte[] letter = new ByteBuilder().U32(0).U32(0).U16(3).U16(0).U16(0).U16(1).U8((byte)'x').U8(0).U16(0).Text("/a", true).PadTo(8).ToArray();
        Assert.Contains("letter", Fault(Header().Concat(SpecStyle(5, letter)).Concat(SpecStyle(0, Array.Empty<byte>())).ToArray()).Message);

        var noEnd = Assert.IsType<XenTruncatedException>(Record.Exception(() => Read(Header())));
        Assert.Contains("without an END", noEnd.Message);
    }

    [Fact]
    public void HostileLengthsOnAPipeDoNotAllocateAheadOfData()
    {
        byte[] dump = Header().Concat(new ByteBuilder().U32(5).U32(16 << 20).Zeros(100).ToArray()).ToArray();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.IsType<XenTruncatedException>(Record.Exception(() => Read(dump, seekable: false)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20);
    }

    [Fact]
    public void UnknownRecordTypesAreKept()
    {
        byte[] dump = Header().Concat(SpecStyle(42, new byte[] { 1, 2, 3 })).Concat(SpecStyle(0, Array.Empty<byte>())).ToArray();
        var unknown = Read(dump).OfType<XenstoreUnknownRecord>().Single();
        Assert.Equal(42u, unknown.TypeCode);
        Assert.Equal(new byte[] { 1, 2, 3 }, unknown.Body);
    }

    [Fact]
    public void ValidationNamesEveryProblem()
    {
        var perms = new[] { new XenstorePermission(XenstoreAccess.Both, 0) };
        var plan = new XenstoreDumpPlan();
        plan.Add(Node("relative/path", Array.Empty<byte>(), perms));
        plan.Add(Node("/bad char!", Array.Empty<byte>(), perms));
        plan.Add(Node("/dup", Array.Empty<byte>(), perms));
        plan.Add(Node("/dup", Array.Empty<byte>(), perms));
        plan.Add(Node("/trailing/", Array.Empty<byte>(), perms));
        plan.Add(Node("/big", new byte[5000], perms));
        plan.Add(Node("/noperm", Array.Empty<byte>(), Array.Empty<XenstorePermission>()));
        plan.Add(new XenstoreWatchRecord(9, "/x", "t"));
        plan.Add(new XenstoreTransactionRecord(9, 1));
        plan.Add(new XenstoreNodeRecord(3, 4, "/p", Array.Empty<byte>(), XenstoreNodeAccess.Written, perms));
        var errors = plan.Validate(2);
        foreach (string expected in new[] { "neither absolute", "contains '", "appears twice", "ends with '/'", "more than xenstore's 4096", "at least one permission", "connection 9", "transaction 4 of connection 3" })
        {
            Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
        }

        Assert.Throws<InvalidDataException>(() => plan.Write(new MemoryStream(), 2, false));
        Assert.Throws<FormatException>(() => XenstorePermission.Parse("x7"));
        Assert.Equal("r7", XenstorePermission.Parse("r7").ToString());
    }

    [Fact]
    public void RecordsAreReorderedOnlyWhereTheirDependenciesRequire()
    {
        var perms = new[] { new XenstorePermission(XenstoreAccess.None, 0) };
        var plan = new XenstoreDumpPlan();
        plan.Add(Node("/a/b/c", Array.Empty<byte>(), perms));
        plan.Add(Node("/x", Array.Empty<byte>(), perms));
        plan.Add(new XenstoreWatchRecord(1, "/x", "w"));
        plan.Add(Node("/a/b", Array.Empty<byte>(), perms));
        plan.Add(new XenstoreConnectionRecord(1, 3, 5));
        plan.Add(Node("/a", Array.Empty<byte>(), perms));
        plan.Add(Node("/orphan/child", Array.Empty<byte>(), perms));
        var order = plan.Ordered().Select(r => r is XenstoreNodeRecord n ? n.Path : r.Type.ToString()).ToList();
        Assert.Equal(new[] { "/x", "Connection", "Watch", "/a", "/a/b", "/a/b/c", "/orphan/child" }, order);

        var ordered = new XenstoreDumpPlan();
        foreach (XenstoreRecord r in plan.Ordered())
        {
            ordered.Add(r);
        }

        Assert.Equal(plan.Ordered(), ordered.Ordered());
    }

    [Fact]
    public void NodesAddedBelowARootGetTheirMissingParents()
    {
        var perms = new[] { new XenstorePermission(XenstoreAccess.None, 0) };
        var plan = new XenstoreDumpPlan();
        const string Root = "/local/domain/0/device-model/7";
        plan.AddBelow(Root, Node(Root + "/physmap/f0000000/start_addr", Encoding.ASCII.GetBytes("f0000000"), perms));
        plan.AddBelow(Root, Node(Root + "/physmap/f0000000/size", Encoding.ASCII.GetBytes("800000"), perms));
        var paths = plan.Ordered().Cast<XenstoreNodeRecord>().Select(n => n.Path).ToList();
        Assert.Equal(new[] { Root + "/physmap", Root + "/physmap/f0000000", Root + "/physmap/f0000000/start_addr", Root + "/physmap/f0000000/size" }, paths);
        Assert.Empty(plan.Validate(2));
    }

    private static XenFormatException Fault(byte[] data) => Assert.IsAssignableFrom<XenFormatException>(Record.Exception(() => Read(data)));
}
