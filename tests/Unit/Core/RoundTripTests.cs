using System.Text;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Xl;
using static XenMigration.Tests.Core.ReaderHelpers;
using XenMigration.Records;
using XenMigration.DeviceModel;

namespace XenMigration.Tests.Core;

public class RoundTripTests
{
    [Fact]
    public void HvmImageWithXlHeaderReadsEveryLayerInFileOrder()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Pages = 40, BatchSize = 16 });
        var records = ReadAll(data, path: "/x/vm.save");

        Assert.Equal(
            "Xl:XlHeader Libxl:LibxlHeader Libxl:LibxcContext Libxc:ImageHeader Libxc:DomainHeader " +
            "Libxc:CpuidPolicy Libxc:MsrPolicy Libxc:StaticDataEnd Libxc:PageData Libxc:PageData Libxc:PageData " +
            "Libxc:TscInfo Libxc:HvmContext Libxc:HvmParams Libxc:End Libxl:EmulatorXenstoreData Libxl:EmulatorContext Libxl:End",
            Shape(records));
        Assert.All(records, r => Assert.Equal("/x/vm.save", r.FilePath));
        Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.Index));

        // Offsets: each record starts where the previous one (with padding) ended.
        long expected = 0;
        foreach (XenStreamRecord r in records)
        {
            Assert.Equal(expected, r.Offset);
            expected = r.TypeCode is null ? r.Offset + r.Length : r.Offset + 8 + RecordFrame.PaddedLength(r.Length);
        }

        Assert.Equal(data.Length, expected);
    }

    [Fact]
    public void XlHeaderDecodesFlagsAndJsonConfig()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec());
        var xl = Assert.IsType<XlHeaderRecord>(ReadAll(data)[0]);
        Assert.Equal(ByteOrder.LittleEndian, xl.ByteOrder);
        Assert.Equal(XlMandatoryFlags.Json | XlMandatoryFlags.StreamV2, xl.MandatoryFlags);
        Assert.True(xl.IsStreamV2);
        Assert.Equal(XlConfigFormat.Json, xl.ConfigFormat);
        Assert.True(xl.ConfigIsNulTerminated);
        Assert.Equal(SampleConfig.HvmJson, xl.Config);
        Assert.Equal((uint)Encoding.UTF8.GetByteCount(SampleConfig.HvmJson) + 1, xl.ConfigLength);
        Assert.Equal(4 + xl.ConfigLength, xl.OptionalDataLength);
        Assert.Equal(0u, xl.UnknownMandatoryFlags);
        Assert.Equal(48 + xl.OptionalDataLength, xl.Length);
    }

    [Fact]
    public void XlHeaderWithoutConfigAndWithTextConfig()
    {
        byte[] none = ImageBuilder.Build(new ImageSpec { Config = null, XlFlags = XlMandatoryFlags.StreamV2 });
        var xl = Assert.IsType<XlHeaderRecord>(ReadAll(none)[0]);
        Assert.Null(xl.Config);
        Assert.Equal(XlConfigFormat.None, xl.ConfigFormat);
        Assert.Equal(0u, xl.ConfigLength);
        Assert.Equal(4u, xl.OptionalDataLength);

        byte[] text = ImageBuilder.Build(new ImageSpec { Config = "name = \"web01\"\nmemory = 1024\n", XlFlags = XlMandatoryFlags.StreamV2 });
        xl = Assert.IsType<XlHeaderRecord>(ReadAll(text)[0]);
        Assert.Equal(XlConfigFormat.Text, xl.ConfigFormat);
        Assert.False(xl.ConfigIsNulTerminated);
        Assert.Equal("name = \"web01\"\nmemory = 1024\n", xl.Config);
    }

    [Fact]
    public void BigEndianXlHeaderIsDecodedInItsOwnOrder()
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteXlHeader(XlMandatoryFlags.StreamV2 | XlMandatoryFlags.Json, "{}", bigEndian: true);
            ImageBuilder.Write(w, new ImageSpec { Wrapping = Wrapping.Libxl });
        }

        var xl = Assert.IsType<XlHeaderRecord>(ReadAll(ms.ToArray())[0]);
        Assert.Equal(ByteOrder.BigEndian, xl.ByteOrder);
        Assert.True(xl.IsStreamV2);
        Assert.Equal("{}", xl.Config);
    }

    [Fact]
    public void LibxlAndLibxcHeadersDecode()
    {
        var records = ReadAll(ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, Version = 2 }));
        var libxl = Assert.IsType<LibxlHeaderRecord>(records[0]);
        Assert.Equal(LibxlFormat.Ident, libxl.Ident);
        Assert.Equal(2u, libxl.Version);
        Assert.False(libxl.IsBigEndian);
        Assert.False(libxl.IsLegacyConverted);
        var image = Assert.IsType<ImageHeaderRecord>(records[2]);
        Assert.Equal(ulong.MaxValue, image.Marker);
        Assert.Equal(LibxcFormat.Id, image.Id);
        Assert.Equal(2u, image.Version);
        Assert.Equal(0, image.Options);
        var domain = Assert.IsType<DomainHeaderRecord>(records[3]);
        Assert.Equal(XenGuestType.Hvm, domain.GuestType);
        Assert.Equal(12, domain.PageShift);
        Assert.Equal(new Version(4, 19), domain.XenVersion);
        Assert.True(domain.XenVersion > new Version(4, 5));
        Assert.False(domain.IsLegacyConverted);
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    public void VersionTwoHasNoStaticRecordsVersionThreeHasThem(uint version)
    {
        var types = ReadAll(ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Version = version })).Select(r => r.Type).ToList();
        Assert.Equal(version == 3, types.Contains(XenRecordType.StaticDataEnd));
        Assert.Equal(version == 3, types.Contains(XenRecordType.CpuidPolicy));
        Assert.Equal(version == 3, types.Contains(XenRecordType.MsrPolicy));
        Assert.Equal(XenRecordType.ImageHeader, types[0]);
        Assert.Equal(XenRecordType.End, types[^1]);
    }

    [Fact]
    public void PageDataDecodesPfnsTypesAndDataOffsets()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 20, BatchSize = 20, XtabEvery = 7 });
        var page = Assert.Single(ReadAll(data).OfType<PageDataRecord>());
        Assert.Equal(20u, page.PfnCount);
        Assert.Equal(0u, page.Reserved);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (ulong)i), page.Frames.Select(f => f.Pfn));
        Assert.Equal(XenPageType.XTab, page.Frames[6].Type);
        Assert.Equal(XenPageType.XTab, page.Frames[13].Type);
        Assert.Equal(XenPageType.NoTab, page.Frames[0].Type);
        Assert.Equal(18, page.DataPageCount);
        Assert.Equal(page.ExpectedLength, page.Length);
        Assert.Equal(page.Offset + 8 + 8 + (8 * 20), page.PageDataOffset);
        Assert.Equal(18 * 4096, page.PayloadLength);
        Assert.Equal(0ul, page.FirstPfn);
        Assert.Equal(19ul, page.LastPfn);
        Assert.True(page.PaddingIsZero);

        // The page contents really are at PageDataOffset: the first page is pfn 0's.
        Assert.Equal(ImageBuilder.Page(0, 0), data.AsSpan((int)page.PageDataOffset, 4096).ToArray());
    }

    [Fact]
    public void EveryPageTypeRoundTrips()
    {
        var types = Enum.GetValues<XenPageType>();
        var words = types.Select((t, i) => LibxcFormat.EncodePfn((ulong)(0x1000 + i), t)).ToList();
        int dataPages = types.Count(LibxcFormat.HasData);
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Pv, 4, 19);
            w.WritePageData(words, new byte[dataPages * 4096]);
            w.WriteEmptyRecord(LibxcFormat.End);
        }

        var page = Assert.Single(ReadAll(ms.ToArray()).OfType<PageDataRecord>());
        Assert.Equal(types, page.Frames.Select(f => f.Type));
        Assert.Equal(types.Select(LibxcFormat.HasData), page.Frames.Select(f => f.HasData));
        Assert.Equal(dataPages, page.DataPageCount);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    public void PvImageRecordsDecode(int width)
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, GuestWidth = width, Wrapping = Wrapping.Libxl, Vcpus = 2, Pages = 1100 });
        var records = ReadAll(data);
        Assert.DoesNotContain(records, r => r.Type is XenRecordType.EmulatorContext or XenRecordType.EmulatorXenstoreData or XenRecordType.HvmContext);

        var info = Assert.Single(records.OfType<PvInfoRecord>());
        Assert.Equal(width, info.GuestWidth);
        Assert.Equal(width == 8 ? 4 : 3, info.PtLevels);
        Assert.Equal(0ul, info.Reserved);

        var p2m = Assert.Single(records.OfType<PvP2mFramesRecord>());
        Assert.Equal(0u, p2m.StartPfn);
        Assert.Equal(1099u, p2m.EndPfn);
        Assert.Equal(p2m.ExpectedFrameCount(width), p2m.Frames.Count);
        Assert.Equal(0x10000ul, p2m.Frames[0]);

        var vcpus = records.OfType<PvVcpuRecord>().ToList();
        Assert.Equal(8, vcpus.Count);
        var basic = vcpus.Where(v => v.Type == XenRecordType.PvVcpuBasic).ToList();
        Assert.Equal(new uint[] { 0, 1 }, basic.Select(v => v.VcpuId));
        Assert.All(basic, b => Assert.Equal(width == 8 ? 5168 : 2800, b.ContextLength));
        Assert.Equal(128, vcpus.First(v => v.Type == XenRecordType.PvVcpuExtended).ContextLength);
        Assert.Equal(592, vcpus.First(v => v.Type == XenRecordType.PvVcpuXsave).ContextLength);
        Assert.Equal(16, vcpus.First(v => v.Type == XenRecordType.PvVcpuMsrs).ContextLength);

        var shared = Assert.Single(records, r => r.Type == XenRecordType.SharedInfo);
        Assert.Equal(4096, shared.PayloadLength);
        Assert.Contains(records.OfType<PageDataRecord>().SelectMany(p => p.Frames), f => f.Type == (width == 8 ? XenPageType.L4TabPinned : XenPageType.L3TabPinned));
    }

    [Fact]
    public void TscHvmParamsAndPoliciesDecode()
    {
        var records = ReadAll(ImageBuilder.Build(new ImageSpec()));
        var tsc = Assert.Single(records.OfType<TscInfoRecord>());
        Assert.Equal(TscMode.Default, tsc.Mode);
        Assert.Equal(2_400_000u, tsc.Khz);
        Assert.Equal(123_456_789ul, tsc.Nanoseconds);
        Assert.Equal(1u, tsc.Incarnation);
        Assert.Equal(24, tsc.Length);

        var hvmParams = Assert.Single(records.OfType<HvmParamsRecord>());
        Assert.Equal((uint)SampleConfig.HvmParams.Count, hvmParams.ParamCount);
        Assert.Equal(SampleConfig.HvmParams.Select(p => (p.Key, p.Value)), hvmParams.Params.Select(p => (p.Index, p.Value)));
        Assert.Equal("STORE_PFN", hvmParams.Params[0].Name);
        Assert.Equal("ACPI_IOPORTS_LOCATION", hvmParams.Params[4].Name);

        var cpuid = Assert.Single(records.OfType<CpuidPolicyRecord>());
        Assert.Equal(SampleConfig.CpuidLeaves.Select(l => (l.Leaf, l.Subleaf, l.Eax, l.Ebx, l.Ecx, l.Edx)), cpuid.Leaves.Select(l => (l.Leaf, l.Subleaf, l.Eax, l.Ebx, l.Ecx, l.Edx)));
        var msr = Assert.Single(records.OfType<MsrPolicyRecord>());
        Assert.Equal(SampleConfig.MsrEntries.Select(e => (e.Index, e.Flags, e.Value)), msr.Entries.Select(e => (e.Index, e.Flags, e.Value)));

        var context = Assert.Single(records, r => r.Type == XenRecordType.HvmContext);
        Assert.Equal(ImageBuilder.HvmContextBlob(2).Length, context.PayloadLength);
    }

    [Fact]
    public void LibxlEmulatorRecordsDecode()
    {
        byte[] qemu = File.ReadAllBytes(Fixtures.QemuDevicesState);
        var records = ReadAll(ImageBuilder.Build(new ImageSpec { EmulatorState = qemu }));
        var xs = Assert.Single(records.OfType<EmulatorXenstoreDataRecord>());
        Assert.Equal(EmulatorKind.QemuUpstream, xs.EmulatorId);
        Assert.Equal(0u, xs.EmulatorIndex);
        Assert.True(xs.IsNulTerminated);
        Assert.Equal(SampleConfig.PhysmapPairs.Select(p => (p.Key, p.Value)), xs.Entries.Select(e => (e.Key, e.Value)));

        var ctx = Assert.Single(records.OfType<EmulatorContextRecord>());
        Assert.Equal(EmulatorKind.QemuUpstream, ctx.EmulatorId);
        Assert.True(ctx.IsQemuStream);
        Assert.Equal(qemu.Length, ctx.PayloadLength);
        Assert.Equal(qemu.Length + 8, ctx.Length);
    }

    [Fact]
    public void CheckpointStateAndDirtyPfnListAndOptionalUnknownRecords()
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteLibxlHeader();
            w.WriteCheckpointState(CheckpointControl.SvmReady);
            w.WriteEmptyRecord(LibxlFormat.LibxcContext);
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteDirtyPfnList(new ulong[] { 5, 9, 0x12345 });
            w.WriteRecord(0x80000123, new byte[] { 1, 2, 3 });
            w.WriteEmptyRecord(LibxcFormat.Verify);
            w.WriteEmptyRecord(LibxcFormat.End);
            w.WriteRecord(0x80000007, new byte[12]);
            w.WriteEmptyRecord(LibxlFormat.End);
        }

        var records = ReadAll(ms.ToArray());
        var state = Assert.Single(records.OfType<CheckpointStateRecord>());
        Assert.Equal(CheckpointControl.SvmReady, state.ControlId);
        Assert.Equal(4, state.Length);
        var dirty = Assert.Single(records.OfType<CheckpointDirtyPfnListRecord>());
        Assert.Equal(new ulong[] { 5, 9, 0x12345 }, dirty.Pfns);
        var unknown = records.OfType<UnknownRecord>().ToList();
        Assert.Equal(2, unknown.Count);
        Assert.Equal(XenLayer.Libxc, unknown[0].Layer);
        Assert.Equal(0x80000123u, unknown[0].TypeCode);
        Assert.True(unknown[0].IsOptional);
        Assert.Equal(3, unknown[0].PayloadLength);
        Assert.Equal(XenLayer.Libxl, unknown[1].Layer);
        Assert.Contains(records, r => r.Type == XenRecordType.Verify);
    }

    [Fact]
    public void ToolstackRecordIsReadAsABlob()
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteImageHeader(2);
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 5);
            w.WriteRecord(LibxcFormat.Toolstack, new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 9 });
            w.WriteEmptyRecord(LibxcFormat.End);
        }

        var t = Assert.IsType<BlobRecord>(ReadAll(ms.ToArray())[2]);
        Assert.Equal(XenRecordType.Toolstack, t.Type);
        Assert.Equal(9, t.PayloadLength);
        Assert.True(t.PaddingIsZero is null or true);
    }

    [Theory]
    [InlineData(Wrapping.Libxl)]
    [InlineData(Wrapping.None)]
    public void CheckpointedStreamsRunToTheFinalEnd(Wrapping wrapping)
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = wrapping, Checkpoints = 2, Pages = 8, BatchSize = 8 });
        var records = ReadAll(data);
        Assert.Equal(2, records.Count(r => r.Type == XenRecordType.Checkpoint));
        Assert.Equal(wrapping == Wrapping.Libxl ? 2 : 0, records.Count(r => r.Type == XenRecordType.CheckpointEnd));
        Assert.Equal(3, records.Count(r => r.Type == XenRecordType.HvmContext));
        Assert.Equal(XenRecordType.End, records[^1].Type);
        if (wrapping == Wrapping.Libxl)
        {
            // After each CHECKPOINT_END the libxc stream resumes without new headers.
            int firstEnd = records.FindIndex(r => r.Type == XenRecordType.CheckpointEnd);
            Assert.Equal(XenLayer.Libxc, records[firstEnd + 1].Layer);
            Assert.Equal(XenRecordType.PageData, records[firstEnd + 1].Type);
            Assert.Equal(1, records.Count(r => r.Type == XenRecordType.ImageHeader));
            Assert.Equal(XenLayer.Libxl, records[^1].Layer);
        }
    }

    [Theory]
    [InlineData(Wrapping.Xl, 1)]
    [InlineData(Wrapping.Xl, 7)]
    [InlineData(Wrapping.Libxl, 4096)]
    [InlineData(Wrapping.None, 3)]
    public void NonSeekableInputGivesTheSameRecords(Wrapping wrapping, int chunk)
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = wrapping, Pages = 70, BatchSize = 32, Checkpoints = 1 });
        var seekable = ReadAll(data);
        var piped = ReadAll(data, seekable: false, chunk: chunk);
        Assert.Equal(seekable.Count, piped.Count);
        for (int i = 0; i < seekable.Count; i++)
        {
            Assert.Equal(seekable[i].GetType(), piped[i].GetType());
            Assert.Equal((seekable[i].Offset, seekable[i].Type, seekable[i].Length, seekable[i].Summary, seekable[i].PaddingIsZero),
                (piped[i].Offset, piped[i].Type, piped[i].Length, piped[i].Summary, piped[i].PaddingIsZero));
        }
    }

    [Fact]
    public void PaddingIsDetectedAfterThePayloadIsSkipped()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, EmulatorState = new byte[] { 0x51, 0x45, 0x56, 0x4D, 1 } });
        var records = ReadAll(data);
        var ctx = records.OfType<EmulatorContextRecord>().Single();
        Assert.Equal(13, ctx.Length);
        Assert.True(ctx.PaddingIsZero);

        // Poison one padding byte of the EMULATOR_CONTEXT record.
        data[ctx.Offset + 8 + 13 + 1] = 0xAA;
        ctx = ReadAll(data).OfType<EmulatorContextRecord>().Single();
        Assert.False(ctx.PaddingIsZero);
    }

    [Fact]
    public void ConvertedLibxcStreamWithTrailingDeviceModelRecord()
    {
        byte[] qemu = File.ReadAllBytes(Fixtures.QemuDevicesState);
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Hvm, 0, 1);
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
            w.WriteHvmContext(ImageBuilder.HvmContextBlob(1));
            w.WriteEmptyRecord(LibxcFormat.End);
            w.WriteRaw(Encoding.ASCII.GetBytes("DeviceModelRecord0002"));
            w.WriteRaw(BitConverter.GetBytes((uint)qemu.Length));
            w.WriteRaw(qemu);
        }

        var records = ReadAll(ms.ToArray());
        Assert.True(Assert.IsType<DomainHeaderRecord>(records[1]).IsLegacyConverted);
        var dm = Assert.IsType<LegacyDeviceModelRecord>(records[^1]);
        Assert.Equal("DeviceModelRecord0002", dm.Signature);
        Assert.Equal(qemu.Length, dm.PayloadLength);
        Assert.Equal(25 + qemu.Length, dm.Length);
        Assert.Equal(qemu, ms.ToArray().AsSpan((int)dm.PayloadOffset, qemu.Length).ToArray());
    }
}
