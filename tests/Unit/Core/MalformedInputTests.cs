using System.Buffers.Binary;
using System.Text;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Xl;
using static XenMigration.Tests.Core.ReaderHelpers;
using XenMigration.Records;

namespace XenMigration.Tests.Core;

public class MalformedInputTests
{
    private static byte[] SmallImage(Wrapping wrapping, XenGuestType type = XenGuestType.Hvm) => ImageBuilder.Build(new ImageSpec
    {
        Wrapping = wrapping,
        GuestType = type,
        Pages = 3,
        BatchSize = 2,
        Vcpus = 1,
        Config = "{\"c_info\":{\"name\":\"t\"}}",
        Checkpoints = 1,
    });

    public static TheoryData<Wrapping, XenGuestType, bool> TruncationCases() => new()
    {
        { Wrapping.Xl, XenGuestType.Hvm, true },
        { Wrapping.Xl, XenGuestType.Hvm, false },
        { Wrapping.None, XenGuestType.Pv, true },
        { Wrapping.Libxl, XenGuestType.Pv, false },
    };

    [Theory]
    [MemberData(nameof(TruncationCases))]
    public void TruncationAtEveryOffsetIsReportedAsTruncationAtThatOffset(Wrapping wrapping, XenGuestType type, bool seekable)
    {
        byte[] data = SmallImage(wrapping, type);
        Assert.Equal(XenRecordType.End, ReadAll(data)[^1].Type);
        for (int cut = 0; cut < data.Length; cut++)
        {
            byte[] part = data.AsSpan(0, cut).ToArray();
            var ex = Record.Exception(() => ReadAll(part, seekable));
            var truncated = Assert.IsType<XenTruncatedException>(ex);
            Assert.Equal(XenErrorIds.UnexpectedEndOfStream, truncated.ErrorId);
            Assert.True(truncated.Offset == cut, $"cut {cut}: exception offset {truncated.Offset}: {truncated.Message}");
            Assert.Contains("offset " + cut.ToString(System.Globalization.CultureInfo.InvariantCulture), truncated.Message);
        }
    }

    [Fact]
    public void RecordLongerThanTheCapIsRefusedBeforeReadingIt()
    {
        byte[] data = Build(w =>
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteRaw(Header(LibxcFormat.HvmContext, (128u << 20) + 1));
        });
        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => ReadAll(data, seekable: false)));
        Assert.Equal(XenErrorIds.RecordTooLarge, ex.ErrorId);
        Assert.Equal(40, ex.Offset);
        Assert.Equal(2, ex.RecordIndex);
        Assert.Equal("HvmContext", ex.RecordName);
        Assert.Contains("134217729", ex.Message);
    }

    [Fact]
    public void TheCapIsConfigurable()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 4, BatchSize = 4 });
        using var reader = new XenStreamReader(new MemoryStream(data), false, new XenStreamReaderOptions { MaxRecordLength = 1000 });
        var ex = Assert.Throws<XenFormatException>(() => { while (reader.ReadNext() is not null) { } });
        Assert.Equal(XenErrorIds.RecordTooLarge, ex.ErrorId);
        Assert.Equal("PageData", ex.RecordName);
    }

    [Fact]
    public void LengthPastTheEndOfASeekableFileIsATruncationNamingTheRecord()
    {
        byte[] data = Build(w =>
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteRaw(Header(LibxcFormat.PageData, 100_000));
            w.WriteRaw(new byte[64]);
        });
        var ex = Assert.IsType<XenTruncatedException>(Record.Exception(() => ReadAll(data)));
        Assert.Equal(data.Length, ex.Offset);
        Assert.Equal("PageData", ex.RecordName);
        Assert.Contains("100000", ex.Message);
    }

    public static TheoryData<string, uint, byte[], string> ShortBodies() => new()
    {
        { "PAGE_DATA count larger than the body", LibxcFormat.PageData, new ByteBuilder().U32(3).U32(0).U64(1).U64(2).ToArray(), XenErrorIds.InvalidRecordLength },
        { "PAGE_DATA without a count", LibxcFormat.PageData, new byte[4], XenErrorIds.InvalidRecordLength },
        { "HVM_PARAMS count larger than the body", LibxcFormat.HvmParams, new ByteBuilder().U32(5).U32(0).U64(1).U64(2).ToArray(), XenErrorIds.InvalidRecordLength },
        { "X86_TSC_INFO of 16 bytes", LibxcFormat.X86TscInfo, new byte[16], XenErrorIds.InvalidRecordLength },
        { "X86_PV_INFO of 4 bytes", LibxcFormat.X86PvInfo, new byte[4], XenErrorIds.InvalidRecordLength },
        { "X86_PV_P2M_FRAMES of 4 bytes", LibxcFormat.X86PvP2mFrames, new byte[4], XenErrorIds.InvalidRecordLength },
        { "X86_PV_VCPU_BASIC of 4 bytes", LibxcFormat.X86PvVcpuBasic, new byte[4], XenErrorIds.InvalidRecordLength },
        { "unknown mandatory type 0x13", 0x13, new byte[8], XenErrorIds.UnknownRecordType },
        { "unknown mandatory type 0x7FFFFFFF", 0x7FFFFFFF, Array.Empty<byte>(), XenErrorIds.UnknownRecordType },
    };

    [Theory]
    [MemberData(nameof(ShortBodies))]
    public void MalformedLibxcRecordsAreFormatErrorsWithOffsetAndIndex(string what, uint type, byte[] body, string errorId)
    {
        byte[] data = Build(w =>
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Pv, 4, 19);
            w.WriteRecord(type, body);
            w.WriteEmptyRecord(LibxcFormat.End);
        });
        foreach (bool seekable in new[] { true, false })
        {
            var ex = Assert.IsType<XenFormatException>(Record.Exception(() => ReadAll(data, seekable)));
            Assert.True(errorId == ex.ErrorId, what + ": " + ex.ErrorId);
            Assert.Equal(40, ex.Offset);
            Assert.Equal(2, ex.RecordIndex);
            Assert.Contains("offset 0x28 (40)", ex.Message);
        }
    }

    [Fact]
    public void UnknownMandatoryLibxlRecordIsRefused()
    {
        byte[] data = Build(w =>
        {
            w.WriteLibxlHeader();
            w.WriteRecord(0x6, new byte[4]);
        });
        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => ReadAll(data)));
        Assert.Equal(XenErrorIds.UnknownRecordType, ex.ErrorId);
        Assert.Equal(16, ex.Offset);
        Assert.Contains("libxl type 0x00000006", ex.Message);
    }

    [Fact]
    public void QemuStreamIsRecognisedAndRefused()
    {
        byte[] qemu = File.ReadAllBytes(Fixtures.QemuDevicesState);
        var ex = Assert.IsType<XenUnsupportedFormatException>(Record.Exception(() => ReadAll(qemu)));
        Assert.Equal(DetectedFormat.QemuSavevm, ex.Format);
        Assert.Equal(XenErrorIds.UnsupportedFormat, ex.ErrorId);
        Assert.Contains("QEMU", ex.Message);
    }

    [Theory]
    [InlineData("xenstore", DetectedFormat.XenstoreDump, "Import-XenstoreDump")]
    [InlineData("LibvirtQemudSave", DetectedFormat.LibvirtSave, null)]
    public void OtherFormatsAreRecognisedAndRefusedNamingTheRightCommand(string magic, DetectedFormat format, string? command)
    {
        byte[] data = new ByteBuilder().Bytes(Encoding.ASCII.GetBytes(magic)).U32(0x02000000).U32(0).Zeros(64).ToArray();
        var ex = Assert.IsType<XenUnsupportedFormatException>(Record.Exception(() => ReadAll(data)));
        Assert.Equal(format, ex.Format);
        _ = command;   // the cmdlet layer names it (GetXenStreamRecordTests); Core names no command
        Assert.DoesNotContain("-Xen", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x1F, 0x8B, 8, 0 }, DetectedFormat.Gzip)]
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0 }, DetectedFormat.Xz)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, DetectedFormat.Zstd)]
    [InlineData(new byte[] { 0x42, 0x5A, 0x68, 0x39 }, DetectedFormat.Bzip2)]
    public void CompressedImagesGetAHint(byte[] magic, DetectedFormat format)
    {
        byte[] data = magic.Concat(new byte[100]).ToArray();
        var ex = Assert.IsType<XenUnsupportedFormatException>(Record.Exception(() => ReadAll(data)));
        Assert.Equal(format, ex.Format);
        Assert.Contains("Decompress", ex.Message);
    }

    [Fact]
    public void GarbageIsUnrecognised()
    {
        byte[] data = Encoding.ASCII.GetBytes("This is a text file, not a VM image.\n");
        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => ReadAll(data)));
        Assert.Equal(XenErrorIds.UnrecognizedFormat, ex.ErrorId);
        Assert.Equal(0, ex.Offset);
        Assert.Contains("54 68 69 73", ex.Message);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    public void BareLegacyStreamsAreRecognisedAsLegacy(int width)
    {
        var b = new ByteBuilder();
        if (width == 8) { b.U64(0x40000).U64(ulong.MaxValue); } else { b.U32(0x40000).U32(uint.MaxValue); }
        b.U32(0x10).Zeros(64);
        var ex = Assert.IsType<XenUnsupportedFormatException>(Record.Exception(() => ReadAll(b.ToArray())));
        Assert.Equal(DetectedFormat.LegacyLibxc, ex.Format);
        Assert.DoesNotContain("ConvertTo-", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void XlHeaderWithoutStreamV2IsReturnedThenTheLegacyPayloadRefused()
    {
        byte[] data = Build(w =>
        {
            w.WriteXlHeader(XlMandatoryFlags.Json, "{}");
            w.WriteRaw(new ByteBuilder().U64(0x40000).I32(-7).Zeros(100).ToArray());
        });
        using var reader = new XenStreamReader(new MemoryStream(data));
        var xl = Assert.IsType<XlHeaderRecord>(reader.ReadNext());
        Assert.False(xl.IsStreamV2);
        var ex = Assert.Throws<XenUnsupportedFormatException>(() => reader.ReadNext());
        Assert.Equal(DetectedFormat.LegacyLibxc, ex.Format);
        Assert.Equal(xl.Length, ex.Offset);
        Assert.Contains("converted to a v2 stream", ex.Message);

        // A faulted reader keeps reporting the same error.
        Assert.Same(ex, Assert.Throws<XenUnsupportedFormatException>(() => reader.ReadNext()));
    }

    [Fact]
    public void XlHeaderAnnouncingStreamV2ButFollowedByGarbage()
    {
        byte[] data = Build(w =>
        {
            w.WriteXlHeader(XlMandatoryFlags.StreamV2, null);
            w.WriteRaw(Encoding.ASCII.GetBytes("garbage garbage garbage"));
        });
        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => ReadAll(data)));
        Assert.Equal(XenErrorIds.InvalidHeader, ex.ErrorId);
        Assert.Equal(52, ex.Offset);
    }

    [Fact]
    public void XlHeaderFaults()
    {
        byte[] good = XlFormat.Encode(XlMandatoryFlags.StreamV2 | XlMandatoryFlags.Json, "{}");

        byte[] badMagic = (byte[])good.Clone();
        badMagic[20] ^= 1;
        Assert.Equal(XenErrorIds.InvalidHeader, Fault(badMagic).ErrorId);

        byte[] badOrder = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badOrder.AsSpan(32), 0x11223344);
        var ex = Fault(badOrder);
        Assert.Equal(XenErrorIds.InvalidHeader, ex.ErrorId);
        Assert.Contains("byte-order", ex.Message);

        byte[] huge = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(44), 0x7FFFFFFF);
        Assert.Equal(XenErrorIds.RecordTooLarge, Fault(huge).ErrorId);

        byte[] configTooLong = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(configTooLong.AsSpan(48), 1000);
        Assert.Equal(XenErrorIds.InvalidHeader, Fault(configTooLong).ErrorId);

        byte[] threeBytes = good.AsSpan(0, 48).ToArray().Concat(new byte[] { 1, 2, 3 }).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(threeBytes.AsSpan(44), 3);
        Assert.Equal(XenErrorIds.InvalidHeader, Fault(threeBytes).ErrorId);
    }

    [Fact]
    public void HostileLengthsOnAPipeDoNotAllocateAheadOfTheData()
    {
        // xl optional data of 16 MiB and a HVM_PARAMS claiming 8 million entries, each followed by
        // almost nothing: the reader must fail with a truncation without allocating the claimed size.
        byte[] xl = XlFormat.Encode(XlMandatoryFlags.StreamV2, null);
        BinaryPrimitives.WriteUInt32LittleEndian(xl.AsSpan(44), XlFormat.MaxOptionalDataLength);
        byte[] parms = Build(w =>
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteRaw(Header(LibxcFormat.HvmParams, 128u << 20));
            w.WriteRaw(new ByteBuilder().U32(8_000_000).U32(0).Zeros(1000).ToArray());
        });
        byte[] pages = Build(w =>
        {
            w.WriteImageHeader();
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteRaw(Header(LibxcFormat.PageData, 128u << 20));
            w.WriteRaw(new ByteBuilder().U32(16_000_000).U32(0).Zeros(1000).ToArray());
        });
        foreach (byte[] data in new[] { xl, parms, pages })
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.IsType<XenTruncatedException>(Record.Exception(() => ReadAll(data, seekable: false)));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes");
        }
    }

    [Fact]
    public void BadLibxlAndLibxcHeaders()
    {
        Assert.Equal(XenErrorIds.UnsupportedVersion, Fault(LibxlFormat.EncodeHeader(0, version: 3)).ErrorId);
        Assert.Equal(XenErrorIds.UnsupportedVersion, Fault(LibxcFormat.EncodeImageHeader(4)).ErrorId);
        Assert.Equal(XenErrorIds.UnsupportedVersion, Fault(LibxcFormat.EncodeImageHeader(1)).ErrorId);

        byte[] badId = LibxcFormat.EncodeImageHeader();
        badId[9] = 0;
        Assert.Equal(XenErrorIds.InvalidHeader, Fault(badId).ErrorId);

        // After LIBXC_CONTEXT the image header is read unconditionally: a wrong marker is named.
        byte[] badMarker = Build(w =>
        {
            w.WriteLibxlHeader();
            w.WriteEmptyRecord(LibxlFormat.LibxcContext);
            w.WriteRaw(new byte[24]);
        });
        var ex = Fault(badMarker);
        Assert.Equal(XenErrorIds.InvalidHeader, ex.ErrorId);
        Assert.Equal(24, ex.Offset);
        Assert.Contains("marker", ex.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BigEndianStreamsReturnTheirHeaderThenFail(bool libxl)
    {
        byte[] data = libxl
            ? Build(w => { w.WriteLibxlHeader(LibxlFormat.OptionBigEndian); w.WriteEmptyRecord(LibxlFormat.End); })
            : Build(w => { w.WriteImageHeader(3, LibxcFormat.OptionBigEndian); w.WriteDomainHeader(XenGuestType.Hvm, 4, 19); });
        using var reader = new XenStreamReader(new MemoryStream(data));
        XenStreamRecord? header = reader.ReadNext();
        Assert.True(header is LibxlHeaderRecord { IsBigEndian: true } or ImageHeaderRecord { IsBigEndian: true });
        var ex = Assert.Throws<XenFormatException>(() => reader.ReadNext());
        Assert.Equal(XenErrorIds.BigEndianStream, ex.ErrorId);
        Assert.Equal(0, ex.Offset);
    }

    [Fact]
    public void EmptyInputIsATruncationAtZero()
    {
        var ex = Assert.IsType<XenTruncatedException>(Record.Exception(() => ReadAll(Array.Empty<byte>())));
        Assert.Equal(0, ex.Offset);
    }

    [Fact]
    public void BytesAfterTheFinalEndAreCountedNotRead()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl }).Concat(new byte[100]).ToArray();
        using var reader = new XenStreamReader(new MemoryStream(data));
        while (reader.ReadNext() is not null) { }
        Assert.True(reader.IsAtEnd);
        Assert.Equal(100, reader.TrailingBytes);
    }

    private static XenFormatException Fault(byte[] data) =>
        Assert.IsAssignableFrom<XenFormatException>(Record.Exception(() => ReadAll(data.Concat(new byte[64]).ToArray())));

    private static byte[] Header(uint type, uint length) => new ByteBuilder().U32(type).U32(length).ToArray();

    private static byte[] Build(Action<XenStreamWriter> write)
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            write(w);
        }

        return ms.ToArray();
    }
}
