using System.Text;
using XenMigration.Framing;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.XenStream;
using XenMigration.Xl;
using static XenMigration.Tests.Core.ReaderHelpers;
using XenMigration.FileIO;
using XenMigration.Records;
using XenMigration.Rules;
using XenMigration.DeviceModel;

namespace XenMigration.Tests.Core;

public class LegacyConverterTests
{
    public static TheoryData<string> Cases() => new()
    {
        "pv64-tool64-libxc", "pv64-tool64-libxl", "pv32-tool32-libxc", "pv32-tool64-libxl", "pv64-tool32-libxc",
        "pv-no-extv-no-xsave", "pv-sparse-vcpus", "hvm-tool64-xl-libxl", "hvm-tool32-libxc", "hvm-tool64-libxc-skipqemu",
        "hvm-tool32-xl-libxl", "hvm-no-params-no-physmap", "hvm-many-pages", "hvm-xl-without-config", "pv-xl-text-config",
    };

    private static (LegacySpec Spec, LegacyOutputFormat Format, bool SkipQemu) Case(string name) => name switch
    {
        "pv64-tool64-libxc" => (new LegacySpec { GuestType = XenGuestType.Pv }, LegacyOutputFormat.Libxc, false),
        "pv64-tool64-libxl" => (new LegacySpec { GuestType = XenGuestType.Pv }, LegacyOutputFormat.Libxl, false),
        "pv32-tool32-libxc" => (new LegacySpec { GuestType = XenGuestType.Pv, Width = 32, GuestWidth = 4, P2mSize = 0x1234 }, LegacyOutputFormat.Libxc, false),
        "pv32-tool64-libxl" => (new LegacySpec { GuestType = XenGuestType.Pv, Width = 64, GuestWidth = 4, XlHeader = true }, LegacyOutputFormat.Libxl, false),
        "pv64-tool32-libxc" => (new LegacySpec { GuestType = XenGuestType.Pv, Width = 32, GuestWidth = 8, P2mSize = 0x1001 }, LegacyOutputFormat.Libxc, false),
        "pv-no-extv-no-xsave" => (new LegacySpec { GuestType = XenGuestType.Pv, Extv = false, XsaveLength = 0, UnmappedPfns = 0 }, LegacyOutputFormat.Libxc, false),
        "pv-sparse-vcpus" => (new LegacySpec { GuestType = XenGuestType.Pv, OnlineVcpus = new[] { 0, 3, 64, 130 } }, LegacyOutputFormat.Libxl, false),
        "hvm-tool64-xl-libxl" => (new LegacySpec { XlHeader = true }, LegacyOutputFormat.Libxl, false),
        "hvm-tool32-libxc" => (new LegacySpec { Width = 32 }, LegacyOutputFormat.Libxc, false),
        "hvm-tool64-libxc-skipqemu" => (new LegacySpec(), LegacyOutputFormat.Libxc, true),
        "hvm-tool32-xl-libxl" => (new LegacySpec { Width = 32, XlHeader = true }, LegacyOutputFormat.Libxl, false),
        "hvm-no-params-no-physmap" => (new LegacySpec { ParamChunks = Array.Empty<LegacyChunk>(), Physmaps = Array.Empty<Physmap>(), Tsc = false, VerifyAndCheckpointChunks = false }, LegacyOutputFormat.Libxl, false),
        "hvm-xl-without-config" => (new LegacySpec { XlHeader = true, Config = null }, LegacyOutputFormat.Libxl, false),
        "pv-xl-text-config" => (new LegacySpec { GuestType = XenGuestType.Pv, XlHeader = true, Config = "name = \"old\"\nmemory = 512\n" }, LegacyOutputFormat.Libxl, false),
        "hvm-many-pages" => (new LegacySpec { Pages = 3000, BatchSize = 1024, FillersPerBatch = 0, QemuState = File.ReadAllBytes(Fixtures.QemuDevicesState) }, LegacyOutputFormat.Libxl, false),
        _ => throw new ArgumentException(name),
    };

    private static (byte[] Output, LegacyConversionResult Result) Convert(byte[] input, LegacyConversionOptions options, bool seekable = true)
    {
        Stream s = new MemoryStream(input);
        if (!seekable)
        {
            s = new NonSeekableStream(s, 777);
        }

        var output = new MemoryStream();
        var result = LegacyStreamConverter.Convert(s, output, options);
        return (output.ToArray(), result);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputIsByteIdenticalToXensConverterAndVerifies(string name)
    {
        var (spec, format, skipQemu) = Case(name);
        byte[] legacy = LegacyImages.Build(spec);
        byte[] expected = LegacyImages.Expected(spec, format, skipQemu);
        foreach (bool seekable in new[] { true, false })
        {
            foreach (int? width in new int?[] { spec.Width, null })
            {
                var (output, result) = Convert(legacy, new LegacyConversionOptions { GuestType = spec.GuestType, Width = width, Format = format, SkipQemu = skipQemu }, seekable);
                Assert.True(expected.AsSpan().SequenceEqual(output), $"{name} (seekable {seekable}, width {width}): output differs from Xen's at byte {FirstDifference(expected, output)}");
                Assert.Equal(spec.Width, result.Width);
                Assert.Equal(width is null, result.WidthDetected);
            }
        }

        var verification = XenStreamVerifier.Verify(new MemoryStream(expected));
        Assert.True(verification.ErrorCount == 0, string.Join("; ", verification.Issues));
        Assert.Contains(verification.Issues, i => i.Code == XenIssueCodes.LegacyConverted);
    }

    [Theory]
    [InlineData("hvm-many-pages")]
    [InlineData("pv64-tool64-libxl")]
    [InlineData("hvm-tool32-libxc")]
    public void FileToFileConversionCopiesPagesInTheKernelAndStaysByteIdentical(string name)
    {
        var (spec, format, skipQemu) = Case(name);
        string dir = Path.Combine(Path.GetTempPath(), "xm-kc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string input = Path.Combine(dir, "in.legacy");
            File.WriteAllBytes(input, LegacyImages.Build(spec));
            using (var i = XenFile.OpenRead(input))
            using (var o = new FileStream(Path.Combine(dir, "out.save"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096))
            {
                LegacyStreamConverter.Convert(i, o, new LegacyConversionOptions { GuestType = spec.GuestType, Format = format, SkipQemu = skipQemu });
            }

            Assert.Equal(LegacyImages.Expected(spec, format, skipQemu), File.ReadAllBytes(Path.Combine(dir, "out.save")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ConvertedStreamsReadBackWithTheMappedFields()
    {
        var spec = new LegacySpec { GuestType = XenGuestType.Pv, Width = 32, GuestWidth = 4, P2mSize = 0x1234, OnlineVcpus = new[] { 0, 2 } };
        var (output, result) = Convert(LegacyImages.Build(spec), new LegacyConversionOptions { GuestType = XenGuestType.Pv, Format = LegacyOutputFormat.Libxl });
        var records = ReadAll(output);
        Assert.True(Assert.IsType<LibxlHeaderRecord>(records[0]).IsLegacyConverted);
        var converted = Assert.IsType<DomainHeaderRecord>(records[3]);
        Assert.Null(converted.XenVersion);
        Assert.Contains("legacy converter v1", converted.Summary, StringComparison.Ordinal);
        var info = records.OfType<PvInfoRecord>().Single();
        Assert.Equal((4, 3), (info.GuestWidth, info.PtLevels));
        var p2m = records.OfType<PvP2mFramesRecord>().Single();
        Assert.Equal((0u, 0x1233u), (p2m.StartPfn, p2m.EndPfn));
        Assert.Equal(p2m.ExpectedFrameCount(4), p2m.Frames.Count);
        var tsc = records.OfType<TscInfoRecord>().Single();
        Assert.Equal(((TscMode)1, 2_400_000u, 987_654_321ul, 3u), (tsc.Mode, tsc.Khz, tsc.Nanoseconds, tsc.Incarnation));

        // Type nibbles moved from bits 31-28 to 63-60, fillers dropped, pinned L1 tables kept.
        var frames = records.OfType<PageDataRecord>().SelectMany(p => p.Frames).ToList();
        Assert.Equal(spec.Pages, frames.Count);
        Assert.Contains(frames, f => f.Type == XenPageType.L1TabPinned && f.Pfn == 1);
        Assert.Contains(frames, f => f.Type == XenPageType.XTab && f.Pfn == 4);
        Assert.Contains(frames, f => f.Type == XenPageType.XAlloc && f.Pfn == 5);
        Assert.Equal(frames.Count(f => f.HasData), result.Pages);
        Assert.Equal(3 * 2, result.DroppedFillers);

        var vcpus = records.OfType<PvVcpuRecord>().ToList();
        Assert.Equal(new uint[] { 0, 0, 0, 2, 2, 2 }, vcpus.Select(v => v.VcpuId));
        Assert.Equal(new long[] { 2800, 128, 576, 2800, 128, 576 }, vcpus.Select(v => v.ContextLength));
        Assert.DoesNotContain(records, r => r.Type == XenRecordType.PvVcpuMsrs);
        Assert.Equal(2, result.Vcpus);
        Assert.Equal(XenRecordType.SharedInfo, records[^3].Type);
    }

    [Fact]
    public void HvmParamsTscPhysmapAndQemuAreMapped()
    {
        var spec = new LegacySpec { XlHeader = true };
        var (output, result) = Convert(LegacyImages.Build(spec), new LegacyConversionOptions { GuestType = XenGuestType.Hvm });
        Assert.Equal(LegacyOutputFormat.Libxl, result.Format);
        Assert.True(result.HadXlHeader);
        var records = ReadAll(output);
        var xl = Assert.IsType<XlHeaderRecord>(records[0]);
        Assert.True(xl.IsStreamV2);
        Assert.Equal(spec.Config, xl.Config);

        var parameters = records.OfType<HvmParamsRecord>().ToList();
        Assert.Equal(2, parameters.Count);
        Assert.Equal(spec.ParamChunks.Select(c => LegacyFormat.ParamChunks[c]), parameters[0].Params.Select(p => p.Index));
        Assert.Equal(new ulong[] { 5, 6, 1 }, parameters[1].Params.Select(p => p.Index));
        Assert.Equal(new ulong[] { 0xFEFFF, 0xFEFFE, 0xFEFFC }, parameters[1].Params.Select(p => p.Value));

        var xs = records.OfType<EmulatorXenstoreDataRecord>().Single();
        Assert.Equal(EmulatorKind.Unknown, xs.EmulatorId);
        Assert.Equal(
            new[] { "physmap/f0000000/start_addr=f0000000", "physmap/f0000000/size=800000", "physmap/f0000000/name=vga.vram", "physmap/fc000000/start_addr=fc000000", "physmap/fc000000/size=10000", "physmap/fc000000/name=vga.rom" },
            xs.Entries.Select(e => e.ToString()));
        var ctx = records.OfType<EmulatorContextRecord>().Single();
        Assert.Equal(EmulatorKind.Unknown, ctx.EmulatorId);
        Assert.Equal(spec.QemuState.Length, ctx.PayloadLength);
        Assert.Equal(spec.QemuState.Length, result.QemuStateLength);
    }

    [Fact]
    public void FormatDefaultsFollowLibxlAndLibxcOutputDropsTheXlHeader()
    {
        var bare = LegacyImages.Build(new LegacySpec());
        Assert.Equal(LegacyOutputFormat.Libxc, Convert(bare, new LegacyConversionOptions { GuestType = XenGuestType.Hvm }).Result.Format);

        var withXl = new LegacySpec { XlHeader = true };
        var (output, result) = Convert(LegacyImages.Build(withXl), new LegacyConversionOptions { GuestType = XenGuestType.Hvm, Format = LegacyOutputFormat.Libxc });
        Assert.Equal(LegacyOutputFormat.Libxc, result.Format);
        Assert.Equal(LegacyImages.Expected(withXl with { XlHeader = false }, LegacyOutputFormat.Libxc), output);
        Assert.IsType<ImageHeaderRecord>(ReadAll(output)[0]);
        Assert.IsType<LegacyDeviceModelRecord>(ReadAll(output)[^1]);
    }

    [Fact]
    public void BatchesOfOnlyFillersAreDroppedRatherThanWrittenEmpty()
    {
        var spec = new LegacySpec { FillerOnlyBatch = true };
        var (output, result) = Convert(LegacyImages.Build(spec), new LegacyConversionOptions { GuestType = XenGuestType.Hvm, Format = LegacyOutputFormat.Libxl });
        Assert.Equal(1, result.DroppedEmptyBatches);
        Assert.Equal(LegacyImages.Expected(spec, LegacyOutputFormat.Libxl), output);
        Assert.DoesNotContain(ReadAll(output).OfType<PageDataRecord>(), p => p.PfnCount == 0);
    }

    [Fact]
    public void LogDescribesTheStreamLikeXensVerboseMode()
    {
        var lines = new List<string>();
        Convert(LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv }), new LegacyConversionOptions { GuestType = XenGuestType.Pv, Log = lines.Add });
        Assert.Contains(lines, l => l.StartsWith("Toolstack width: 64-bit (detected: ", StringComparison.Ordinal));
        Assert.Contains("P2M Size: 0x200", lines);
        Assert.Contains("    64bit domain, 4 levels", lines);
        Assert.Contains("This is a debug stream", lines);
        Assert.Contains(lines, l => l.StartsWith("  Vcpu info: max_id 1, online map [0, 1]", StringComparison.Ordinal));
        Assert.Contains("discarding 3 bogus 'unmapped pfns'", lines);
    }

    [Theory]
    [InlineData(XenGuestType.Pv, 32)]
    [InlineData(XenGuestType.Pv, 64)]
    [InlineData(XenGuestType.Hvm, 32)]
    [InlineData(XenGuestType.Hvm, 64)]
    public void WidthIsDetected(XenGuestType guest, int width)
    {
        byte[] data = LegacyImages.Build(new LegacySpec { GuestType = guest, Width = width, GuestWidth = width == 32 ? 4 : 8 });
        var d = LegacyWidthDetector.Detect(data, guest);
        Assert.Equal(width, d.Width);
    }

    [Fact]
    public void AmbiguousWidthIsRefusedAndAGivenWidthResolvesIt()
    {
        byte[] ambiguous = AmbiguousHvm();
        var d = LegacyWidthDetector.Detect(ambiguous, XenGuestType.Hvm);
        Assert.Null(d.Width);
        Assert.True(d.Plausible32 && d.Plausible64);

        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => Convert(ambiguous, new LegacyConversionOptions { GuestType = XenGuestType.Hvm })));
        Assert.Equal(XenErrorIds.AmbiguousWidth, ex.ErrorId);
        Assert.Contains("Give the width of the toolstack", ex.Message);
        Assert.DoesNotContain("-Width", ex.Message);   // Core names no cmdlet parameter

        var (output, result) = Convert(ambiguous, new LegacyConversionOptions { GuestType = XenGuestType.Hvm, Width = 64, SkipQemu = true });
        Assert.Equal(64, result.Width);
        var parameters = ReadAll(output).OfType<HvmParamsRecord>().ToList();
        Assert.Equal(HvmParamNames.IdentPt, parameters[0].Params.Single().Index);
    }

    // Bytes that parse both ways. 32-bit view: p2m_size 0x100, end chunk at 4, HVM tail at 8, context
    // HEADER at 36. 64-bit view: p2m_size 0x100, an IDENT_PT chunk at 8, end chunk at 24, HVM tail at
    // 28 (whose pfns hold the 32-bit view's HEADER), context at 56.
    private static byte[] AmbiguousHvm()
    {
        byte[] ctx = ImageBuilder.HvmContextBlob(1);
        return new ByteBuilder()
            .U64(0x100)
            .I32((int)LegacyChunk.HvmIdentPt).U32(0).U64(0xFEFFB000)
            .I32(0)
            .U64(0xFEFFF)
            .U16(1).U16(0).U32(24)
            .U32(0x54381286).U32(0)
            .U32((uint)ctx.Length).Bytes(ctx)
            .ToArray();
    }

    [Fact]
    public void UnsupportedChunksAreRefusedNamingTheChunkAndOffset()
    {
        foreach (var (chunk, body, expected) in new (LegacyChunk, byte[], string)[]
        {
            (LegacyChunk.Tmem, new byte[16], "tmem"),
            (LegacyChunk.TmemExtra, new byte[16], "tmem"),
            (LegacyChunk.CompressedData, new ByteBuilder().U32(4).U32(0).ToArray(), "compression"),
            (LegacyChunk.EnableCompression, Array.Empty<byte>(), "compression"),
        })
        {
            var spec = new LegacySpec { ExtraChunk = new ByteBuilder().I32((int)chunk).Bytes(body).ToArray() };
            byte[] data = LegacyImages.Build(spec);
            var ex = Assert.IsType<XenFormatException>(Record.Exception(() => Convert(data, new LegacyConversionOptions { GuestType = XenGuestType.Hvm })));
            Assert.Equal(XenErrorIds.UnsupportedLegacyChunk, ex.ErrorId);
            Assert.Contains(expected, ex.Message);
            Assert.Contains(chunk.ToString(), ex.Message);
            Assert.Equal(IndexOf(data, ExtraChunkBytes(spec)), ex.Offset);
        }
    }

    [Theory]
    [InlineData("QemuDeviceModelRecord", "QemuDeviceModelRecord")]
    [InlineData("RemusDeviceModelState", "Remus")]
    [InlineData("SomethingElseEntirely", "unknown device-model record")]
    public void UnconvertibleDeviceModelRecordsAreRefused(string signature, string expected)
    {
        byte[] data = LegacyImages.Build(new LegacySpec { QemuSignature = signature });
        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => Convert(data, new LegacyConversionOptions { GuestType = XenGuestType.Hvm, Format = LegacyOutputFormat.Libxl })));
        Assert.Equal(XenErrorIds.UnsupportedLegacyChunk, ex.ErrorId);
        Assert.Contains(expected, ex.Message);

        // libxc output with -SkipQemu never reads the record.
        Convert(data, new LegacyConversionOptions { GuestType = XenGuestType.Hvm, Format = LegacyOutputFormat.Libxc, SkipQemu = true });
    }

    public static TheoryData<string, LegacySpec, string> InvalidStreams() => new()
    {
        { "unknown chunk", new LegacySpec { ExtraChunk = new ByteBuilder().I32(-21).ToArray() }, "unrecognised chunk id -21" },
        { "oversized batch", new LegacySpec { ExtraChunk = new ByteBuilder().I32(1025).ToArray() }, "exceeds MAX_BATCH" },
        { "duplicate pfns", new LegacySpec { ExtraChunk = new ByteBuilder().I32(2).U64(0xF0000007).U64(0xF0000007).ToArray() }, "appears twice" },
        { "vcpu id out of range", new LegacySpec { ExtraChunk = new ByteBuilder().I32(-2).I32(5000).ToArray() }, "out of range" },
        { "HVM param in PV", new LegacySpec { GuestType = XenGuestType.Pv, ExtraChunk = new ByteBuilder().I32(-11).U32(0).U64(1).ToArray() }, "HVM-only param" },
        { "physmap version", new LegacySpec { ExtraChunk = new ByteBuilder().I32(-18).U32(8).U32(2).U32(0).ToArray() }, "version 2" },
        { "physmap name not terminated", new LegacySpec { ExtraChunk = new ByteBuilder().I32(-18).U32(8 + 28 + 3 + 4).U32(1).U32(1).U64(1).U64(2).U64(3).U32(3).Text("abc", false).Zeros(4).ToArray() }, "not NUL-terminated" },
        { "physmap without name", new LegacySpec { ExtraChunk = new ByteBuilder().I32(-18).U32(8 + 28).U32(1).U32(1).U64(1).U64(2).U64(3).U32(0).ToArray() }, "has no name" },
    };

    [Theory]
    [MemberData(nameof(InvalidStreams))]
    public void InvalidLegacyStreamsAreRefused(string what, LegacySpec spec, string message)
    {
        byte[] data = LegacyImages.Build(spec);
        var ex = Assert.IsType<XenFormatException>(Record.Exception(() => Convert(data, new LegacyConversionOptions { GuestType = spec.GuestType, Width = spec.Width, Format = LegacyOutputFormat.Libxl })));
        Assert.True(ex.ErrorId == XenErrorIds.InvalidLegacyStream, what + ": " + ex.ErrorId + " " + ex.Message);
        Assert.Contains(message, ex.Message);
        Assert.Contains("offset", ex.Message);
    }

    [Fact]
    public void PvExtendedInfoFaults()
    {
        var good = LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv });
        var options = new LegacyConversionOptions { GuestType = XenGuestType.Pv, Width = 64 };

        byte[] marker = (byte[])good.Clone();
        marker[8] = 0;
        Assert.Contains("extended-info marker", Fault(marker, options).Message);

        byte[] block = (byte[])good.Clone();
        Encoding.ASCII.GetBytes("zzzz").CopyTo(block, 20);
        Assert.Contains("unrecognised extended-info block 'zzzz'", Fault(block, options).Message);

        byte[] size = (byte[])good.Clone();
        BitConverter.GetBytes(0x100000u).CopyTo(size, 24);
        Assert.Contains("overshoots", Fault(size, options).Message);

        byte[] noVcpu = LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv, GuestWidth = 8 });
        // Rename the vcpu block so the extended info has none.
        Encoding.ASCII.GetBytes("extv").CopyTo(noVcpu, 20);
        Assert.Contains("no vcpu block", Fault(noVcpu, options).Message);

        var xsave = LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv, XsaveLength = 16 + 576 });
        int xcnt = IndexOf(xsave, Encoding.ASCII.GetBytes("xcnt"));
        BitConverter.GetBytes(16u + 512u).CopyTo(xsave, xcnt + 8);
        Assert.Contains("xsave size", Fault(xsave, options).Message);

        byte[] gw = LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv });
        BitConverter.GetBytes(0x1000u).CopyTo(gw, 24);
        BitConverter.GetBytes(BitConverter.ToUInt32(gw, 16) - 0x430u).CopyTo(gw, 16);
        Assert.Equal(XenErrorIds.InvalidLegacyStream, Fault(gw, options).ErrorId);
    }

    [Fact]
    public void V2StreamsAndOtherFormatsAreNotConverted()
    {
        var options = new LegacyConversionOptions { GuestType = XenGuestType.Hvm };
        Assert.Equal(XenErrorIds.NotLegacyStream, Fault(ImageBuilder.Build(new ImageSpec()), options).ErrorId);
        Assert.Equal(XenErrorIds.NotLegacyStream, Fault(ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None }), options).ErrorId);
        Assert.Equal(XenErrorIds.UnsupportedFormat, Fault(File.ReadAllBytes(Fixtures.QemuDevicesState), options).ErrorId);
        Assert.Equal(XenErrorIds.InvalidLegacyStream, Fault(Encoding.ASCII.GetBytes("definitely not an image, just text"), options).ErrorId);
    }

    [Fact]
    public void TruncationAtEveryOffsetIsReportedAsTruncation()
    {
        foreach (var spec in new[] { new LegacySpec { GuestType = XenGuestType.Pv, Pages = 3, BatchSize = 2, UnmappedPfns = 1 }, new LegacySpec { Pages = 3, BatchSize = 2, XlHeader = true } })
        {
            byte[] data = LegacyImages.Build(spec);
            for (int cut = 0; cut < data.Length; cut += cut < 2000 ? 1 : 7)
            {
                var ex = Record.Exception(() => Convert(data.AsSpan(0, cut).ToArray(), new LegacyConversionOptions { GuestType = spec.GuestType, Width = spec.Width, Format = LegacyOutputFormat.Libxl }));
                Assert.True(ex is XenTruncatedException, $"cut {cut}: {ex?.GetType().Name}: {ex?.Message}");
            }
        }
    }

    [Fact]
    public void TrailingInputIsCountedNotConverted()
    {
        byte[] data = LegacyImages.Build(new LegacySpec()).Concat(new byte[100]).ToArray();
        var lines = new List<string>();
        var (_, result) = Convert(data, new LegacyConversionOptions { GuestType = XenGuestType.Hvm, Log = lines.Add });
        Assert.Equal(100, result.TrailingBytes);
        Assert.Contains(lines, l => l.Contains("100 bytes after the legacy stream", StringComparison.Ordinal));
    }

    private static XenFormatException Fault(byte[] data, LegacyConversionOptions options) =>
        Assert.IsAssignableFrom<XenFormatException>(Record.Exception(() => Convert(data, options)));

    private static byte[] ExtraChunkBytes(LegacySpec spec) => spec.ExtraChunk!;

    private static int IndexOf(byte[] data, byte[] pattern) => data.AsSpan().IndexOf(pattern);

    private static int FirstDifference(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return n;
    }
}
