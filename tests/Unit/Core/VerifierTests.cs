using System.Buffers.Binary;
using System.Text;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.Records;
using XenMigration.XenStream;
using XenMigration.Xl;
using static XenMigration.Tests.Core.ReaderHelpers;
using C = XenMigration.Rules.XenIssueCodes;
using XenMigration.Rules;

namespace XenMigration.Tests.Core;

/// <summary>
/// Every rule of Test-XenStream: valid streams first, then one mutation per rule, asserting the
/// code, severity and offset of what is reported.
/// </summary>
public class VerifierTests
{
    // ---- valid streams -------------------------------------------------------------------------

    public static TheoryData<string> ValidImages() => new()
    {
        "hvm-xl-v3", "hvm-libxl-v2", "hvm-bare", "pv64-xl", "pv32-libxl", "pv-bare-v2", "hvm-remus", "pv-remus-bare",
    };

    private static ImageSpec SpecFor(string name) => name switch
    {
        "hvm-xl-v3" => new ImageSpec { ParamsBeforeContext = true },
        "hvm-libxl-v2" => new ImageSpec { Wrapping = Wrapping.Libxl, Version = 2, ParamsBeforeContext = true },
        "hvm-bare" => new ImageSpec { Wrapping = Wrapping.None, ParamsBeforeContext = true },
        "pv64-xl" => new ImageSpec { GuestType = XenGuestType.Pv, Config = SampleConfig.PvJson },
        "pv32-libxl" => new ImageSpec { GuestType = XenGuestType.Pv, GuestWidth = 4, Wrapping = Wrapping.Libxl },
        "pv-bare-v2" => new ImageSpec { GuestType = XenGuestType.Pv, Wrapping = Wrapping.None, Version = 2 },
        "hvm-remus" => new ImageSpec { Wrapping = Wrapping.Libxl, Checkpoints = 2, ParamsBeforeContext = true },
        "pv-remus-bare" => new ImageSpec { GuestType = XenGuestType.Pv, Wrapping = Wrapping.None, Checkpoints = 1 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(ValidImages))]
    public void ValidImagesHaveNoIssues(string name)
    {
        byte[] data = ImageBuilder.Build(SpecFor(name));
        foreach (bool seekable in new[] { true, false })
        {
            var result = Verify(data, seekable);
            Assert.True(result.Issues.Count == 0, name + ": " + string.Join("; ", result.Issues));
            Assert.True(result.IsValid);
        }
    }

    [Fact]
    public void ResultDescribesTheImage()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Pages = 40, BatchSize = 16, XtabEvery = 7 });
        var result = Verify(data, path: "/srv/vm.save");
        Assert.Equal("/srv/vm.save", result.FilePath);
        Assert.Equal(DetectedFormat.XlSaveFile, result.Format);
        Assert.Equal(2u, result.LibxlVersion);
        Assert.Equal(3u, result.LibxcVersion);
        Assert.Equal(new Version(4, 19), result.XenVersion);
        Assert.Equal(XenGuestType.Hvm, result.GuestType);
        Assert.False(result.Checkpointed);
        Assert.Equal(ReadAll(data).Count, result.RecordCount);
        Assert.Equal(40 - 5, result.PageCount);
        Assert.Equal(data.Length, result.FileLength);
        Assert.True(result.BytesRead <= data.Length);
        Assert.True(Verify(ImageBuilder.Build(new ImageSpec { Checkpoints = 1 })).Checkpointed);
    }

    [Fact]
    public void ImagesWrittenInXensOwnOrderCarryOnlyTheContextOrderNote()
    {
        foreach (string sample in SampleFiles.All.Keys)
        {
            var result = Verify(SampleFiles.All[sample]());
            Assert.Equal(0, result.ErrorCount);
            Assert.True(result.IsValid);
            Assert.All(result.Issues, i => Assert.Equal(C.ContextBeforeParams, i.Code));
        }

        // Every current Xen saver writes HVM_CONTEXT before HVM_PARAMS: a note that -Strict does not count.
        var hvm = Verify(ImageBuilder.Build(new ImageSpec()));
        var note = Assert.Single(hvm.Issues);
        Assert.Equal(XenIssueSeverity.Information, note.Severity);
        Assert.Equal(XenRecordType.HvmParams, note.RecordType);
        Assert.Equal((0, 0, 1), (hvm.ErrorCount, hvm.WarningCount, hvm.InformationCount));
        Assert.True(Verify(ImageBuilder.Build(new ImageSpec()), strict: true).IsValid);
    }

    // ---- xl header ----------------------------------------------------------------------------

    [Fact]
    public void XlHeaderRules()
    {
        AssertIssue(Xl(XlFormat.Encode(XlMandatoryFlags.StreamV2 | XlMandatoryFlags.Json, "{}", bigEndian: true)), C.XlByteOrder, 0);
        AssertIssue(Xl(XlFormat.Encode(0x7, Encoding.UTF8.GetBytes("{}\0"))), C.XlUnknownMandatoryFlags, 36);
        AssertIssue(Xl(XlFormat.Encode(XlMandatoryFlags.StreamV2 | XlMandatoryFlags.Json, "{}", optionalFlags: 4)), C.ReservedField, 40);
        AssertIssue(Xl(XlFormat.Encode(XlMandatoryFlags.StreamV2, null)), C.XlConfigMissing, 0);
        AssertIssue(Xl(XlFormat.Encode(0x3, Encoding.UTF8.GetBytes("{\"a\":1}"))), C.XlConfigNotTerminated, 52);

        byte[] extra = XlFormat.Encode(XlMandatoryFlags.StreamV2 | XlMandatoryFlags.Json, "{}").Concat(new byte[5]).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(extra.AsSpan(44), BinaryPrimitives.ReadUInt32LittleEndian(extra.AsSpan(44)) + 5);
        AssertIssue(Xl(extra), C.XlExtraOptionalData, 0);
    }

    [Fact]
    public void XlStreamV2FlagMustMatchWhatFollows()
    {
        // No STREAMv2, then a libxl stream: xl would run the legacy converter on it.
        byte[] noFlag = Xl(XlFormat.Encode(XlMandatoryFlags.Json, "{}"));
        AssertIssue(noFlag, C.XlStreamMismatch, XlFormat.Encode(XlMandatoryFlags.Json, "{}").Length);

        // STREAMv2, then a bare libxc stream.
        byte[] header = XlFormat.Encode(XlMandatoryFlags.StreamV2 | XlMandatoryFlags.Json, "{}");
        byte[] bare = header.Concat(ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, ParamsBeforeContext = true })).ToArray();
        AssertIssue(bare, C.XlStreamMismatch, header.Length);
    }

    // ---- libxl --------------------------------------------------------------------------------

    [Fact]
    public void LibxlHeaderAndRecordRules()
    {
        byte[] reserved = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, ParamsBeforeContext = true });
        reserved[15] |= 0x4;
        AssertIssue(reserved, C.ReservedField, 12);

        byte[] legacy = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, ParamsBeforeContext = true });
        legacy[15] |= 0x2;
        AssertIssue(legacy, C.LegacyConverted, 0);

        var unknown = Libxl(XenGuestType.Hvm, after: w => w.WriteRecord(0x80000001, new byte[4]));
        AssertIssue(unknown, C.UnknownLibxlRecord, OffsetOf(unknown, XenRecordType.Unknown));

        var state = Libxl(XenGuestType.Hvm, after: w => w.WriteCheckpointState(CheckpointControl.New));
        AssertIssue(state, C.BackChannelRecord, OffsetOf(state, XenRecordType.CheckpointState));

        var cpEnd = Libxl(XenGuestType.Hvm, after: w => w.WriteEmptyRecord(LibxlFormat.CheckpointEnd));
        AssertIssue(cpEnd, C.UnexpectedCheckpointEnd, OffsetOf(cpEnd, XenRecordType.CheckpointEnd));

        var ctxBody = Libxl(XenGuestType.Hvm, libxcContextBody: new byte[8]);
        AssertIssue(ctxBody, C.RecordLength, 16);
    }

    [Fact]
    public void EmulatorRecordRules()
    {
        var pv = Libxl(XenGuestType.Pv, after: w => w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, new byte[16]));
        AssertIssue(pv, C.RecordNotForGuestType, OffsetOf(pv, XenRecordType.EmulatorContext));

        var id = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorContext((EmulatorKind)7, 0, new byte[16]));
        AssertIssue(id, C.EmulatorId, OffsetOf(id, XenRecordType.EmulatorContext) + 8);

        var trad = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorContext(EmulatorKind.QemuTraditional, 0, new byte[16]));
        AssertIssue(trad, C.EmulatorTraditional, OffsetOf(trad, XenRecordType.EmulatorContext) + 8);

        // The body must be a QEMU stream: 16 zero bytes are not one (at the body's first byte) ...
        AssertIssue(trad, C.EmulatorContextMalformed, OffsetOf(trad, XenRecordType.EmulatorContext) + 16);

        // ... nor is real device state cut short ...
        byte[] state = File.ReadAllBytes(Fixtures.QemuDevicesState);
        var cut = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, state.AsSpan(0, 5000).ToArray()));
        Assert.Contains(Verify(cut).Issues, i => i.Code == C.EmulatorContextMalformed && i.Message.Contains("Unexpected end", StringComparison.Ordinal));

        // ... and a device section nothing delimits (unknown, no footers) is reported where the walk stopped.
        byte[] mystery = new ByteBuilder(bigEndian: true).U32(0x5145564D).U32(3).U8(4).U32(1).U8(7).Text("mystery", false).U32(0).U32(1).Zeros(10).U8(0).ToArray();
        var unwalkable = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, mystery));
        AssertIssue(unwalkable, C.EmulatorContextUnwalkable, OffsetOf(unwalkable, XenRecordType.EmulatorContext) + 16 + 29);
        Assert.True(Verify(unwalkable).IsValid);

        var unterminated = Libxl(XenGuestType.Hvm, after: w => w.WriteRecord(LibxlFormat.EmulatorXenstoreData, new ByteBuilder().U32(2).U32(0).Text("physmap/1/name\0vga", false).ToArray()));
        AssertIssue(unterminated, C.XenstoreDataNotTerminated, OffsetOf(unterminated, XenRecordType.EmulatorXenstoreData));

        // libxl refuses only empty keys and keys starting with '/' (an error); other odd characters
        // it writes anyway, so they are a warning and the image is valid.
        foreach (string key in new[] { "/local/domain/0/x", "" })
        {
            var bad = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorXenstoreData(EmulatorKind.QemuUpstream, 0, new[] { new KeyValuePair<string, string>(key, "1") }));
            AssertIssue(bad, C.XenstoreKey, OffsetOf(bad, XenRecordType.EmulatorXenstoreData));
        }

        foreach (string key in new[] { "bad key", "a/../b", "caf\u00e9" })
        {
            var odd = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorXenstoreData(EmulatorKind.QemuUpstream, 0, new[] { new KeyValuePair<string, string>(key, "1") }));
            AssertIssue(odd, C.XenstoreKeyCharacters, OffsetOf(odd, XenRecordType.EmulatorXenstoreData));
            Assert.True(Verify(odd).IsValid);
        }

        // An empty EMULATOR_CONTEXT, or one cut inside its first section, is a stream QEMU refuses.
        var empty = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, Array.Empty<byte>()));
        AssertIssue(empty, C.EmulatorContextMalformed, OffsetOf(empty, XenRecordType.EmulatorContext) + 16);
        byte[] devices = File.ReadAllBytes(Fixtures.QemuDevicesState);
        var cutFirst = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, devices.AsSpan(0, 40).ToArray()));
        Assert.Contains(Verify(cutFirst).Issues, i => i.Code == C.EmulatorContextMalformed && i.Message.Contains("first section", StringComparison.Ordinal));

        var value = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorXenstoreData(EmulatorKind.QemuUpstream, 0, new[] { new KeyValuePair<string, string>("a/b", "x\ty") }));
        AssertIssue(value, C.XenstoreValue, OffsetOf(value, XenRecordType.EmulatorXenstoreData));

        // Padding after an odd-length record body must be zero.
        var padded = Libxl(XenGuestType.Hvm, after: w => w.WriteEmulatorXenstoreData(EmulatorKind.QemuUpstream, 0, new[] { new KeyValuePair<string, string>("a", "b") }));
        long at = OffsetOf(padded, XenRecordType.EmulatorXenstoreData);
        padded[at + 8 + 12 + 2] = 0x55;
        AssertIssue(padded, C.NonZeroPadding, at + 8 + 12);
    }

    [Fact]
    public void PythonVerifierFailsEveryXenstoreDataRecordOnPython3ButTheyAreValid()
    {
        var result = Verify(ImageBuilder.Build(new ImageSpec { ParamsBeforeContext = true }));
        Assert.True(result.IsValid);
        Assert.Empty(result.Issues);
    }

    // ---- libxc headers ------------------------------------------------------------------------

    [Fact]
    public void LibxcHeaderRules()
    {
        byte[] image = Bare(XenGuestType.Hvm, 3, HvmBody);
        image[20] = 1;
        AssertIssue(image, C.ReservedField, 16);

        AssertIssue(Bare((XenGuestType)3, 3, HvmBody), C.DomainGuestType, 24);
        AssertIssue(Bare(XenGuestType.Hvm, 3, HvmBody, pageShift: 13), C.DomainPageShift, 28);

        byte[] domainReserved = Bare(XenGuestType.Hvm, 3, HvmBody);
        domainReserved[30] = 1;
        AssertIssue(domainReserved, C.ReservedField, 30);

        AssertIssue(Bare(XenGuestType.Hvm, 3, HvmBody, xenMajor: 0), C.LegacyConverted, 24);
    }

    // ---- static data, versions, order ---------------------------------------------------------

    [Fact]
    public void StaticDataRules()
    {
        var missing = Bare(XenGuestType.Hvm, 3, w => HvmBody(w, sde: false));
        AssertIssue(missing, C.StaticDataEndMissing, OffsetOf(missing, XenRecordType.PageData));

        var noPages = Bare(XenGuestType.Hvm, 3, w => { w.WriteHvmParams(SampleConfig.HvmParams); w.WriteHvmContext(ImageBuilder.HvmContextBlob(1)); });
        AssertIssue(noPages, C.StaticDataEndMissing, OffsetOf(noPages, XenRecordType.End));

        var twice = Bare(XenGuestType.Hvm, 3, w => { w.WriteEmptyRecord(LibxcFormat.StaticDataEnd); HvmBody(w); });
        AssertIssue(twice, C.StaticDataEndRepeated, OffsetOf(twice, XenRecordType.StaticDataEnd, 1));

        var late = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteCpuidPolicy(SampleConfig.CpuidLeaves); });
        AssertIssue(late, C.PolicyAfterStaticData, OffsetOf(late, XenRecordType.CpuidPolicy));

        var v2 = Bare(XenGuestType.Hvm, 2, w => HvmBody(w, sde: true));
        AssertIssue(v2, C.RecordNotInVersion, OffsetOf(v2, XenRecordType.StaticDataEnd));

        var v2Policy = Bare(XenGuestType.Hvm, 2, w => { w.WriteMsrPolicy(SampleConfig.MsrEntries); HvmBody(w, sde: false); });
        AssertIssue(v2Policy, C.RecordNotInVersion, OffsetOf(v2Policy, XenRecordType.MsrPolicy));

        var badPolicy = Bare(XenGuestType.Hvm, 3, w => { w.WriteRecord(LibxcFormat.X86CpuidPolicy, new byte[25]); HvmBody(w); });
        AssertIssue(badPolicy, C.RecordLength, OffsetOf(badPolicy, XenRecordType.CpuidPolicy));

        var emptyPolicy = Bare(XenGuestType.Hvm, 3, w => { w.WriteRecord(LibxcFormat.X86MsrPolicy, Array.Empty<byte>()); HvmBody(w); });
        AssertIssue(emptyPolicy, C.RecordLength, OffsetOf(emptyPolicy, XenRecordType.MsrPolicy));

        var flags = Bare(XenGuestType.Hvm, 3, w => { w.WriteMsrPolicy(new[] { new MsrEntry(0xCE, 1, 0) }); HvmBody(w); });
        AssertIssue(flags, C.ReservedField, OffsetOf(flags, XenRecordType.MsrPolicy) + 12);
    }

    [Fact]
    public void PvOrderRules()
    {
        var p2mFirst = Bare(XenGuestType.Pv, 3, w => PvBody(w, order: "sde p2m info pages tail"));
        AssertIssue(p2mFirst, C.RecordOrder, OffsetOf(p2mFirst, XenRecordType.PvP2mFrames));

        var pagesFirst = Bare(XenGuestType.Pv, 3, w => PvBody(w, order: "info sde pages p2m tail"));
        AssertIssue(pagesFirst, C.RecordOrder, OffsetOf(pagesFirst, XenRecordType.PageData));

        var vcpuFirst = Bare(XenGuestType.Pv, 3, w => PvBody(w, order: "info sde p2m vcpu pages tail"));
        AssertIssue(vcpuFirst, C.RecordOrder, OffsetOf(vcpuFirst, XenRecordType.PvVcpuBasic));

        var sharedFirst = Bare(XenGuestType.Pv, 3, w => PvBody(w, order: "shared info sde p2m pages tail"));
        AssertIssue(sharedFirst, C.RecordOrder, OffsetOf(sharedFirst, XenRecordType.SharedInfo));
    }

    [Fact]
    public void GuestTypeApplicability()
    {
        var pvInHvm = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WritePvInfo(8, 4); });
        AssertIssue(pvInHvm, C.RecordNotForGuestType, OffsetOf(pvInHvm, XenRecordType.PvInfo));

        var hvmInPv = Bare(XenGuestType.Pv, 3, w => { PvBody(w); w.WriteHvmParams(SampleConfig.HvmParams); });
        AssertIssue(hvmInPv, C.RecordNotForGuestType, OffsetOf(hvmInPv, XenRecordType.HvmParams));

        var sharedInHvm = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteSharedInfo(new byte[4096]); });
        AssertIssue(sharedInHvm, C.RecordNotForGuestType, OffsetOf(sharedInHvm, XenRecordType.SharedInfo));
    }

    // ---- PV records ---------------------------------------------------------------------------

    [Fact]
    public void PvInfoRules()
    {
        var none = Bare(XenGuestType.Pv, 3, w => PvBody(w, order: "sde p2m pages tail"));
        AssertIssue(none, C.PvInfoMissing, OffsetOf(none, XenRecordType.End));

        var twice = Bare(XenGuestType.Pv, 3, w => { w.WritePvInfo(8, 4); PvBody(w); });
        AssertIssue(twice, C.PvInfoRepeated, OffsetOf(twice, XenRecordType.PvInfo, 1));

        var pairing = Bare(XenGuestType.Pv, 3, w => PvBody(w, width: 4, levels: 4));
        AssertIssue(pairing, C.PvInfoWidthLevels, OffsetOf(pairing, XenRecordType.PvInfo) + 8);

        var longer = Bare(XenGuestType.Pv, 3, w => PvBody(w, pvInfoBody: new byte[] { 8, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
        AssertIssue(longer, C.PvInfoLength, OffsetOf(longer, XenRecordType.PvInfo));

        var reserved = Bare(XenGuestType.Pv, 3, w => PvBody(w, pvInfoBody: new byte[] { 8, 4, 0, 1, 0, 0, 0, 0 }));
        AssertIssue(reserved, C.ReservedField, OffsetOf(reserved, XenRecordType.PvInfo) + 10);
    }

    [Fact]
    public void P2mFramesRules()
    {
        var range = Bare(XenGuestType.Pv, 3, w => PvBody(w, p2m: (10, 5, 1)));
        AssertIssue(range, C.P2mFramesRange, OffsetOf(range, XenRecordType.PvP2mFrames) + 8);

        // pfns 0..1023 of a 64-bit guest need 2 frames (512 entries per frame), not 3.
        var frames = Bare(XenGuestType.Pv, 3, w => PvBody(w, p2m: (0, 1023, 3)));
        AssertIssue(frames, C.RecordLength, OffsetOf(frames, XenRecordType.PvP2mFrames));
    }

    [Fact]
    public void VcpuRules()
    {
        var basic = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: w2 => w2.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 0, new byte[5000])));
        AssertIssue(basic, C.VcpuContextLength, OffsetOf(basic, XenRecordType.PvVcpuBasic));

        var basic32 = Bare(XenGuestType.Pv, 3, w => PvBody(w, width: 4, levels: 3, vcpus: w2 => w2.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 0, new byte[LibxcFormat.VcpuBasicSize64])));
        AssertIssue(basic32, C.VcpuContextLength, OffsetOf(basic32, XenRecordType.PvVcpuBasic));

        foreach (var (type, size) in new[] { (LibxcFormat.X86PvVcpuExtended, 200), (LibxcFormat.X86PvVcpuXsave, 8), (LibxcFormat.X86PvVcpuMsrs, 20) })
        {
            var bad = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: w2 => { Vcpu0(w2); w2.WritePvVcpu(type, 0, new byte[size]); }));
            AssertIssue(bad, C.VcpuContextLength, OffsetOf(bad, LibxcFormat.TypeOf(type)));

            var empty = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: w2 => { Vcpu0(w2); w2.WritePvVcpu(type, 0, Array.Empty<byte>()); }));
            AssertIssue(empty, C.EmptyRecord, OffsetOf(empty, LibxcFormat.TypeOf(type)));
        }

        var missing = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: w2 => w2.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 1, new byte[LibxcFormat.VcpuBasicSize64])));
        AssertIssue(missing, C.Vcpu0BasicMissing, OffsetOf(missing, XenRecordType.End));

        var reserved = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: w2 => w2.WriteRecord(LibxcFormat.X86PvVcpuBasic, new ByteBuilder().U32(0).U32(9).Zeros(LibxcFormat.VcpuBasicSize64).ToArray())));
        AssertIssue(reserved, C.ReservedField, OffsetOf(reserved, XenRecordType.PvVcpuBasic) + 12);

        // With the domain config in the xl header, vCPU ids are checked against max_vcpus (2).
        byte[] tooHigh = ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, Config = SampleConfig.PvJson, Vcpus = 3 });
        var result = Verify(tooHigh);
        Assert.Equal(4, result.Issues.Count(i => i.Code == C.VcpuId));
        Assert.All(result.Issues.Where(i => i.Code == C.VcpuId), i => Assert.Contains("vCPU 2", i.Message));
    }

    [Fact]
    public void SharedInfoAndTscRules()
    {
        var shared = Bare(XenGuestType.Pv, 3, w => PvBody(w, sharedInfo: new byte[4000]));
        AssertIssue(shared, C.RecordLength, OffsetOf(shared, XenRecordType.SharedInfo));

        var tscLong = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.X86TscInfo, new byte[32]); });
        AssertIssue(tscLong, C.RecordLength, OffsetOf(tscLong, XenRecordType.TscInfo, 1));

        var tscReserved = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.X86TscInfo, new ByteBuilder().U32(0).U32(1).U64(1).U32(1).U32(5).ToArray()); });
        AssertIssue(tscReserved, C.ReservedField, OffsetOf(tscReserved, XenRecordType.TscInfo, 1) + 28);

        // tsc_set_info refuses modes above 2 (3, PVRDTSCP, was removed in Xen 4.10): restore fails.
        foreach (TscMode mode in new[] { TscMode.PvRdtscp, (TscMode)7 })
        {
            var tscMode = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteTscInfo(mode, 1, 1, 1); });
            AssertIssue(tscMode, C.TscModeUnknown, OffsetOf(tscMode, XenRecordType.TscInfo, 1) + 8);
            Assert.False(Verify(tscMode).IsValid);
        }
    }

    // ---- HVM params Xen refuses to set (hvm_allow_set_param, hvm_set_param) ---------------------

    [Theory]
    [InlineData(13UL, 1UL)]                    // DM_DOMAIN: deprecated
    [InlineData(24UL, 1UL)]                    // NESTEDHVM: deprecated
    [InlineData(26UL, 5UL)]                    // BUFIOREQ_EVTCHN: deprecated
    [InlineData(35UL, 1UL)]                    // ALTP2M: read-only
    [InlineData(10UL, 4UL)]                    // TIMER_MODE above 3
    [InlineData(9UL, 0x2UL)]                   // VIRIDIAN without base+freq
    [InlineData(9UL, 0x10001UL)]               // VIRIDIAN with an undefined bit
    [InlineData(14UL, 1UL)]                    // ACPI_S_STATE 1
    [InlineData(31UL, 6UL)]                    // TRIPLE_FAULT_REASON above SHUTDOWN_MAX
    [InlineData(33UL, 0UL)]                    // NR_IOREQ_SERVER_PAGES 0
    [InlineData(33UL, 65UL)]                   // ... above 64
    [InlineData(36UL, 2UL)]                    // X87_FIP_WIDTH 2
    public void HvmParamsXenRefusesToSetFailTheRestore(ulong index, ulong value)
    {
        var data = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteHvmParams(new[] { new KeyValuePair<ulong, ulong>(index, value) }); });
        AssertIssue(data, C.HvmParamRefused, OffsetOf(data, XenRecordType.HvmParams, 1) + 16);
        Assert.False(Verify(data).IsValid);
    }

    [Theory]
    [InlineData(9UL, 0x1FFFUL)]
    [InlineData(10UL, 3UL)]
    [InlineData(14UL, 3UL)]
    [InlineData(33UL, 64UL)]
    [InlineData(36UL, 8UL)]
    public void HvmParamsXenAcceptsAreValid(ulong index, ulong value)
    {
        var data = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteHvmParams(new[] { new KeyValuePair<ulong, ulong>(index, value) }); });
        Assert.DoesNotContain(Verify(data).Issues, i => i.Code == C.HvmParamRefused);
        Assert.True(Verify(data).IsValid, string.Join("; ", Verify(data).Issues));
    }

    [Fact]
    public void PaeEnabledIsDroppedByTheRestoreNotRefused()
    {
        var data = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteHvmParams(new[] { new KeyValuePair<ulong, ulong>(4, 1) }); });
        AssertIssue(data, C.HvmParamDropped, OffsetOf(data, XenRecordType.HvmParams, 1) + 16);
        Assert.True(Verify(data, strict: true).IsValid);
    }

    // ---- MSRs and XSAVE that Xen's loaders refuse --------------------------------------------

    [Fact]
    public void HvmMsrsAndXsaveXenRefuses()
    {
        byte[] good = ImageBuilder.HvmContextBlob(1);
        var entries = XenMigration.HvmContext.HvmContextWalk.Entries(good);
        int end = entries[^1].Offset;
        byte[] Msr(uint index, uint reserved) => Splice(good, end, 0, new ByteBuilder().U16(20).U16(0).U32(24).U32(1).U32(0).U32(index).U32(reserved).U64(1).ToArray());

        AssertContextIssue(Msr(0x48, 7), C.HvmMsrRefused, end + 8 + 8 + 4);        // reserved word: -EOPNOTSUPP
        AssertContextIssue(Msr(0x10, 0), C.HvmMsrRefused, end + 8 + 8);            // TSC: not restored, -ENXIO
        Assert.True(VerifyContext(Msr(0xDA0, 0)).IsValid, "XSS is one Xen restores: " + string.Join("; ", VerifyContext(Msr(0xDA0, 0)).Issues));

        var xsave = new ByteBuilder().U64(7).U64(7).U64(7).Zeros(512).U64(3).U64(0x8000000000000003UL).Zeros(48).ToArray();
        byte[] compacted = Splice(good, end, 0, new ByteBuilder().U16(16).U16(0).U32((uint)xsave.Length).Bytes(xsave).ToArray());
        AssertContextIssue(compacted, C.HvmXsaveCompacted, end + 8 + 24 + 512 + 8);

        // An END entry with a length or instance: Xen's loader stops there without reading them.
        byte[] endLength = Splice(good, end, 8, new ByteBuilder().U16(0).U16(1).U32(8).Zeros(8).ToArray());
        AssertContextIssue(endLength, C.HvmContextEndNotEmpty, end);
        Assert.True(VerifyContext(endLength).IsValid, string.Join("; ", VerifyContext(endLength).Issues));
    }

    [Fact]
    public void PvMsrsXenRefuses()
    {
        byte[] Msrs(params (uint Index, uint Reserved)[] msrs)
        {
            var b = new ByteBuilder();
            foreach ((uint index, uint reserved) in msrs)
            {
                b.U32(index).U32(reserved).U64(1);
            }

            byte[] blob = b.ToArray();
            return Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: v => { Vcpu0(v); v.WritePvVcpu(LibxcFormat.X86PvVcpuMsrs, 0, blob); }));
        }

        long Payload(byte[] data) => ReadAllLenient(data).First(r => r.Type == XenRecordType.PvVcpuMsrs).PayloadOffset;

        byte[] reserved = Msrs((0x48, 1));
        AssertIssue(reserved, C.PvVcpuMsrRefused, Payload(reserved) + 4);
        byte[] unknown = Msrs((0x140, 0), (0x10, 0));
        AssertIssue(unknown, C.PvVcpuMsrRefused, Payload(unknown) + 16);
        byte[] many = Msrs(Enumerable.Repeat((0x48u, 0u), 13).ToArray());
        AssertIssue(many, C.PvVcpuMsrRefused, OffsetOf(many, XenRecordType.PvVcpuMsrs));
        Assert.True(Verify(Msrs((0x48, 0), (0xC0000103, 0))).IsValid);
    }

    // ---- PAGE_DATA ----------------------------------------------------------------------------

    [Fact]
    public void PageDataRules()
    {
        var empty = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.PageData, new byte[8]); });
        AssertIssue(empty, C.PageDataEmpty, OffsetOf(empty, XenRecordType.PageData, 1));

        var longer = Bare(XenGuestType.Hvm, 3, w =>
        {
            HvmBody(w);
            w.WriteRecord(LibxcFormat.PageData, new ByteBuilder().U32(1).U32(0).U64(7).Zeros(4096 + 8).ToArray());
        });
        AssertIssue(longer, C.RecordLength, OffsetOf(longer, XenRecordType.PageData, 1));

        var invalid = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WritePageData(new ulong[] { 1, (5UL << 60) | 2 }, new byte[4096]); });
        AssertIssue(invalid, C.PageTypeInvalid, OffsetOf(invalid, XenRecordType.PageData, 1) + 16 + 8);

        var reservedBits = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WritePageData(new ulong[] { 1, (1UL << 55) | 2 }, new byte[8192]); });
        AssertIssue(reservedBits, C.ReservedField, OffsetOf(reservedBits, XenRecordType.PageData, 1) + 16 + 8);

        var reserved = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.PageData, new ByteBuilder().U32(1).U32(3).U64(0xF000000000000009).ToArray()); });
        AssertIssue(reserved, C.ReservedField, OffsetOf(reserved, XenRecordType.PageData, 1) + 12);
    }

    [Fact]
    public void IssuesOfOneCodeAreListedTwentyTimesThenCounted()
    {
        var data = Bare(XenGuestType.Hvm, 3, w =>
        {
            HvmBody(w);
            for (int i = 0; i < 30; i++)
            {
                w.WritePageData(new ulong[] { (1UL << 53) | (uint)i }, new byte[4096]);
            }
        });
        var result = Verify(data);
        Assert.Equal(30, result.WarningCount);
        Assert.Equal(21, result.Issues.Count);
        Assert.Contains("10 more issues", result.Issues[^1].Message);
    }

    // ---- HVM records --------------------------------------------------------------------------

    [Fact]
    public void HvmParamsRules()
    {
        var order = Bare(XenGuestType.Hvm, 3, w => HvmBody(w, paramsFirst: false));
        AssertIssue(order, C.ContextBeforeParams, OffsetOf(order, XenRecordType.HvmParams));

        var unknown = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteHvmParams(new[] { new KeyValuePair<ulong, ulong>(3, 1), new KeyValuePair<ulong, ulong>(99, 1) }); });
        var result = Verify(unknown);
        long at = OffsetOf(unknown, XenRecordType.HvmParams, 1);
        Assert.Equal(new long?[] { at + 16, at + 32 }, result.Issues.Where(i => i.Code == C.HvmParamUnknown).Select(i => i.Offset));

        var empty = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteHvmParams(Array.Empty<KeyValuePair<ulong, ulong>>()); });
        AssertIssue(empty, C.EmptyRecord, OffsetOf(empty, XenRecordType.HvmParams, 1));

        var longer = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.HvmParams, new ByteBuilder().U32(1).U32(0).U64(1).U64(2).Zeros(8).ToArray()); });
        AssertIssue(longer, C.RecordLength, OffsetOf(longer, XenRecordType.HvmParams, 1));

        var reserved = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.HvmParams, new ByteBuilder().U32(1).U32(1).U64(1).U64(2).ToArray()); });
        AssertIssue(reserved, C.ReservedField, OffsetOf(reserved, XenRecordType.HvmParams, 1) + 12);
    }

    [Fact]
    public void HvmContextPresenceRules()
    {
        var missing = Bare(XenGuestType.Hvm, 3, w => HvmBody(w, omitContext: true));
        AssertIssue(missing, C.HvmContextMissing, OffsetOf(missing, XenRecordType.End));

        var empty = Bare(XenGuestType.Hvm, 3, w => HvmBody(w, context: Array.Empty<byte>()));
        AssertIssue(empty, C.RecordLength, OffsetOf(empty, XenRecordType.HvmContext));
    }

    [Fact]
    public void HvmContextStructureRules()
    {
        byte[] good = ImageBuilder.HvmContextBlob(2);
        var entries = XenMigration.HvmContext.HvmContextWalk.Entries(good);
        int cpu1 = entries.First(e => e.Typecode == 2 && e.Instance == 1).Offset;
        int pic = entries.First(e => e.Typecode == 3).Offset;
        int ioapic = entries.First(e => e.Typecode == 4).Offset;

        AssertContextIssue(good.AsSpan(0, good.Length - 8).ToArray(), C.HvmContextStructure, good.Length - 8);
        AssertContextIssue(good.AsSpan(0, good.Length - 20).ToArray(), C.HvmContextStructure, entries[^2].Offset);

        byte[] magic = (byte[])good.Clone();
        magic[8] ^= 0xFF;
        AssertContextIssue(magic, C.HvmContextHeader, 8);

        byte[] noHeader = good.AsSpan(8 + 24).ToArray();
        AssertContextIssue(noHeader, C.HvmContextHeader, 0);

        byte[] typecode = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(typecode.AsSpan(ioapic), 21);
        AssertContextIssue(typecode, C.HvmContextTypecode, ioapic);

        byte[] instance = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(instance.AsSpan(ioapic + 2), 1);
        AssertContextIssue(instance, C.HvmContextInstance, ioapic);

        // A PIC entry of 16 bytes: the extra bytes are still walked over, so only the length is wrong.
        byte[] picLong = Splice(good, pic, 8 + 8, new ByteBuilder().U16(3).U16(0).U32(16).Bytes(good.AsSpan(pic + 8, 8)).Zeros(8).ToArray());
        AssertContextIssue(picLong, C.HvmContextEntryLength, pic);

        byte[] cpuLong = Splice(good, cpu1, 8 + 1032, new ByteBuilder().U16(2).U16(1).U32(1040).Zeros(1040).ToArray());
        AssertContextIssue(cpuLong, C.HvmContextEntryLength, cpu1);

        byte[] oldCpu = Splice(good, cpu1, 8 + 1032, new ByteBuilder().U16(2).U16(1).U32(1016).Zeros(1016).ToArray());
        Assert.Empty(VerifyContext(oldCpu).Issues);

        byte[] duplicate = Splice(good, pic, 0, good.AsSpan(pic, 16).ToArray());
        AssertContextIssue(duplicate, C.HvmContextDuplicate, pic + 16);

        byte[] trailing = good.Concat(new byte[16]).ToArray();
        AssertContextIssue(trailing, C.HvmContextTrailingData, good.Length);

        int xsave = entries.First(e => e.Typecode == 16).Offset;
        byte[] emptyXsave = Splice(good, xsave, 8 + (int)entries.First(e => e.Typecode == 16).Length, new ByteBuilder().U16(16).U16(0).U32(0).ToArray());
        AssertContextIssue(emptyXsave, C.HvmContextEmptyXsave, xsave);

        byte[] shortXsave = Splice(good, xsave, 8 + (int)entries.First(e => e.Typecode == 16).Length, new ByteBuilder().U16(16).U16(0).U32(64).Zeros(64).ToArray());
        AssertContextIssue(shortXsave, C.HvmContextEntryLength, xsave);

        byte[] msr = Splice(good, entries[^1].Offset, 0, new ByteBuilder().U16(20).U16(0).U32(24).U32(2).U32(0).U32(0x48).U32(0).U64(0).ToArray());
        AssertContextIssue(msr, C.HvmContextEntryLength, entries[^1].Offset);


        // With the domain config, per-vCPU instances are checked against max_vcpus (2).
        var three = ImageBuilder.Build(new ImageSpec { Vcpus = 3, ParamsBeforeContext = true });
        Assert.Contains(Verify(three).Issues, i => i.Code == C.VcpuId && i.RecordType == XenRecordType.HvmContext);
    }

    // ---- other records ------------------------------------------------------------------------

    [Fact]
    public void SignalRecordsMustBeEmptyAndOtherRecordRules()
    {
        var end = Bare(XenGuestType.Hvm, 3, HvmBody, endBody: new byte[8]);
        AssertIssue(end, C.RecordLength, OffsetOf(end, XenRecordType.End));

        var verify = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteEmptyRecord(LibxcFormat.Verify); });
        AssertIssue(verify, C.VerifyRecord, OffsetOf(verify, XenRecordType.Verify));

        var toolstack = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(LibxcFormat.Toolstack, new byte[8]); });
        AssertIssue(toolstack, C.ToolstackRecord, OffsetOf(toolstack, XenRecordType.Toolstack));

        var dirty = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteDirtyPfnList(new ulong[] { 1 }); });
        AssertIssue(dirty, C.BackChannelRecord, OffsetOf(dirty, XenRecordType.CheckpointDirtyPfnList));

        var optional = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WriteRecord(0x80000010, new byte[3]); });
        AssertIssue(optional, C.UnknownOptionalRecord, OffsetOf(optional, XenRecordType.Unknown));
    }

    [Fact]
    public void BytesAfterTheFinalEndAreReportedOnFilesAndPipes()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { ParamsBeforeContext = true }).Concat(new byte[24]).ToArray();
        foreach (bool seekable in new[] { true, false })
        {
            var issue = Assert.Single(Verify(data, seekable).Issues);
            Assert.Equal(C.TrailingData, issue.Code);
            Assert.Equal(data.Length - 24, issue.Offset);
        }
    }

    // ---- structural errors from the reader -----------------------------------------------------

    [Fact]
    public void StructuralErrorsStopVerificationButKeepEarlierIssues()
    {
        // A PV record in an HVM stream (independent issue), later a truncation (fatal).
        var data = Bare(XenGuestType.Hvm, 3, w => { HvmBody(w); w.WritePvInfo(8, 4); w.WritePageData(new ulong[] { 1 }, new byte[4096]); });
        long cut = OffsetOf(data, XenRecordType.PageData, 1) + 100;
        var result = Verify(data.AsSpan(0, (int)cut).ToArray());
        Assert.Equal(new[] { C.RecordNotForGuestType, XenErrorIds.UnexpectedEndOfStream }, result.Issues.Select(i => i.Code));
        Assert.Equal(cut, result.Issues[1].Offset);
        Assert.Equal(XenRecordType.PageData, result.Issues[1].RecordType);
        Assert.False(result.IsValid);
    }

    public static TheoryData<string, byte[]> BrokenFiles() => new()
    {
        { XenErrorIds.UnrecognizedFormat, Encoding.ASCII.GetBytes("hello world, this is not an image") },
        { XenErrorIds.UnsupportedFormat, File.ReadAllBytes(Fixtures.QemuDevicesState) },
        { XenErrorIds.UnsupportedVersion, LibxlFormat.EncodeHeader(0, 3) },
        { XenErrorIds.BigEndianStream, Bare(XenGuestType.Hvm, 3, HvmBody, imageOptions: 1) },
        { XenErrorIds.InvalidHeader, XlFormat.Encode(XlMandatoryFlags.StreamV2, null).Concat(new byte[40]).ToArray() },
        { XenErrorIds.RecordTooLarge, Bare(XenGuestType.Hvm, 3, w => w.WriteRaw(new ByteBuilder().U32(1).U32(0x7FFFFFF8).ToArray())) },
        { XenErrorIds.InvalidRecordLength, Bare(XenGuestType.Hvm, 3, w => w.WriteRecord(LibxcFormat.X86TscInfo, new byte[8])) },
        { XenErrorIds.UnknownRecordType, Bare(XenGuestType.Hvm, 3, w => w.WriteRecord(0x55, new byte[8])) },
        { XenErrorIds.UnexpectedEndOfStream, ImageBuilder.Build(new ImageSpec()).AsSpan(0, 1000).ToArray() },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void ReaderErrorsBecomeErrorIssues(string code, byte[] data)
    {
        var result = Verify(data);
        Assert.False(result.IsValid);
        var issue = result.Issues.Single(i => i.Severity == XenIssueSeverity.Error);
        Assert.Equal(code, issue.Code);
    }

    [Fact]
    public void BigEndianStreamsAreRefusedUnlikeXensPythonVerifier()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, ParamsBeforeContext = true });
        data[15] |= 1;
        var result = Verify(data);
        Assert.Equal(XenErrorIds.BigEndianStream, Assert.Single(result.Issues).Code);
        Assert.Equal(DetectedFormat.Libxl, result.Format);
    }

    [Fact]
    public void PipesAreVerifiedLikeFilesEvenWithShortReads()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Pages = 64, BatchSize = 32 });
        var file = Verify(data);
        var pipe = Verify(data, seekable: false, chunk: 1000);
        Assert.Equal(file.Issues.Select(i => (i.Code, i.Offset)), pipe.Issues.Select(i => (i.Code, i.Offset)));
        Assert.Equal(file.RecordCount, pipe.RecordCount);
        Assert.Null(pipe.FileLength);
        Assert.Equal(data.Length, pipe.BytesRead);
    }

    // The libxl layer's own rules: what Xen's C restore (libxl) refuses and the reader alone cannot see.
    [Fact]
    public void LibxlStreamWithoutLibxcContextIsInvalid()
    {
        static byte[] Stream(Action<XenStreamWriter> body)
        {
            var ms = new MemoryStream();
            using (var w = new XenStreamWriter(ms, leaveOpen: true))
            {
                w.WriteLibxlHeader();
                body(w);
                w.WriteEmptyRecord(LibxlFormat.End);
            }

            return ms.ToArray();
        }

        byte[] endOnly = Stream(_ => { });
        AssertIssue(endOnly, C.LibxcContextMissing, OffsetOf(endOnly, XenRecordType.End));
        byte[] xlEndOnly = [.. XlFormat.Encode(XlMandatoryFlags.Json | XlMandatoryFlags.StreamV2, "{}"), .. endOnly];
        Assert.Contains(Verify(xlEndOnly).Issues, i => i.Code == C.LibxcContextMissing);
        byte[] emulatorOnly = Stream(w => w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, new byte[16]));
        Assert.False(Verify(emulatorOnly).IsValid);
        Assert.Contains(Verify(emulatorOnly).Issues, i => i.Code == C.LibxcContextMissing);
    }

    [Fact]
    public void TwoEmbeddedLibxcStreamsAreInvalid()
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteLibxlHeader();
            for (int i = 0; i < 2; i++)
            {
                w.WriteEmptyRecord(LibxlFormat.LibxcContext);
                WriteLibxc(w, XenGuestType.Hvm, 3, HvmBody, 12, 4, 0, null);
            }

            w.WriteEmptyRecord(LibxlFormat.End);
        }

        byte[] data = ms.ToArray();
        AssertIssue(data, C.LibxcContextRepeated, OffsetOf(data, XenRecordType.LibxcContext, 1));
    }

    [Fact]
    public void CheckpointWithoutCheckpointEndIsInvalidAndACheckpointInAFileIsAWarning()
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteLibxlHeader();
            w.WriteEmptyRecord(LibxlFormat.LibxcContext);
            w.WriteImageHeader(3, 0);
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19, 12);
            HvmBody(w);
            w.WriteEmptyRecord(LibxcFormat.Checkpoint);
            w.WriteEmptyRecord(LibxlFormat.End);
        }

        byte[] data = ms.ToArray();
        AssertIssue(data, C.CheckpointEndMissing, OffsetOf(data, XenRecordType.End));

        // The same checkpointed stream, well formed: valid as a stream, a Warning as a saved file.
        byte[] remus = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, Checkpoints = 1 });
        Assert.DoesNotContain(Verify(remus).Issues, i => i.Code == C.CheckpointInFile);
        using var dir = new XenMigration.Tests.PowerShell.TempDir();
        var fromFile = XenStreamVerifier.VerifyFile(dir.File("remus.libxl", remus));
        var warning = Assert.Single(fromFile.Issues, i => i.Code == C.CheckpointInFile);
        Assert.Equal(XenIssueSeverity.Warning, warning.Severity);
        Assert.Equal(OffsetOf(remus, XenRecordType.Checkpoint), warning.Offset);
        Assert.True(fromFile.IsValid);
    }

    [Fact]
    public void AnEmptyBasicStateIsAcceptedForAnOfflineVcpuButNotForVcpu0()
    {
        byte[] offline = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: v =>
        {
            Vcpu0(v);
            v.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 1, Array.Empty<byte>());
        }));
        Assert.True(Verify(offline).IsValid, string.Join("; ", Verify(offline).Issues));

        byte[] vcpu0 = Bare(XenGuestType.Pv, 3, w => PvBody(w, vcpus: v => v.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 0, Array.Empty<byte>())));
        Assert.False(Verify(vcpu0).IsValid);
    }

    [Theory]
    [InlineData(XenGuestType.Pv, false, true)]
    [InlineData(XenGuestType.Hvm, false, true)]
    [InlineData(XenGuestType.Hvm, true, true)]
    [InlineData(XenGuestType.Pv, false, false)]
    [InlineData(XenGuestType.Hvm, false, false)]
    public void LegacyImagesAreValidWhenTheyConvertAsXlRestoreWould(XenGuestType guest, bool xlHeader, bool seekable)
    {
        byte[] image = LegacyImages.Build(new LegacySpec { GuestType = guest, XlHeader = xlHeader, Width = 64, GuestWidth = 8 });
        var r = Verify(image, seekable);
        Assert.True(r.IsValid, string.Join("; ", r.Issues));
        Assert.Equal(DetectedFormat.LegacyLibxc, r.Format);
        Assert.Equal(guest, r.GuestType);
        XenStreamIssue note = Assert.Single(r.Issues, i => i.Code == C.LegacyImage);
        Assert.Equal(XenIssueSeverity.Information, note.Severity);
        Assert.Contains(guest == XenGuestType.Pv ? "PV" : "HVM", note.Message, StringComparison.Ordinal);
        Assert.True(r.PageCount > 0);

        // A damaged legacy image is invalid, with the converter's error and offset.
        var cut = Verify(image[..(image.Length / 2)], seekable);
        Assert.False(cut.IsValid);
        Assert.Contains(cut.Issues, i => i.Severity == XenIssueSeverity.Error && i.Offset > 0);
    }

    [Fact]
    public void AnUnreadableInputIsAnInvalidResultWithItsErrorAsTheIssue()
    {
        var r = XenStreamValidationResult.ForUnreadableInput("/nope.save", "FileNotFound", "Cannot find the file '/nope.save'.");
        Assert.False(r.IsValid);
        Assert.Equal(1, r.ErrorCount);
        Assert.Equal("FileNotFound", Assert.Single(r.Issues).Code);
        Assert.Equal("/nope.save", r.Issues[0].FilePath);
    }

    // One rule broken at a time: the sample HVM config with one change, or one stream detail changed.
    public static TheoryData<string, string> ConfigCases() => new()
    {
        { "type", C.ConfigGuestType },
        { "target above max", C.ConfigMemory },
        { "more pages than max", C.ConfigMemory },
        { "viridian", C.ConfigViridian },
        { "tsc mode", C.ConfigTscMode },
        { "device model", C.ConfigDeviceModel },
    };

    [Theory]
    [MemberData(nameof(ConfigCases))]
    public void ConfigAndStreamDisagreeingIsReported(string what, string code)
    {
        string config = SampleConfig.HvmJson;
        var spec = new ImageSpec();
        switch (what)
        {
            case "type":
                config = config.Replace("\"type\": \"hvm\"", "\"type\": \"pv\"", StringComparison.Ordinal);
                break;
            case "target above max":
                config = config.Replace("\"target_memkb\": 1048576", "\"target_memkb\": 2097152", StringComparison.Ordinal);
                break;
            case "more pages than max":
                config = config.Replace("\"max_memkb\": 1048576", "\"max_memkb\": 1024, \"video_memkb\": 0", StringComparison.Ordinal).Replace("\"target_memkb\": 1048576", "\"target_memkb\": 1024", StringComparison.Ordinal);
                spec = spec with { Pages = 1200, BatchSize = 400, XtabEvery = 0 };
                break;
            case "viridian":
                config = config.Replace("\"hpet\": \"True\",", "\"hpet\": \"True\", \"viridian\": [\"defaults\"],", StringComparison.Ordinal);
                spec = spec with { HvmParams = SampleConfig.HvmParams.Append(new KeyValuePair<ulong, ulong>(9, 0x7)).ToList() };
                break;
            case "tsc mode":
                config = config.Replace("\"max_vcpus\": 2,", "\"max_vcpus\": 2, \"tsc_mode\": \"native\",", StringComparison.Ordinal);
                break;
            case "device model":
                config = config.Replace("\"qemu_xen\"", "\"qemu_xen_traditional\"", StringComparison.Ordinal);
                break;
        }

        Assert.NotEqual(SampleConfig.HvmJson, config);
        var r = Verify(ImageBuilder.Build(spec with { Config = config }));
        var config_issues = r.Issues.Where(i => i.Code.StartsWith("Config", StringComparison.Ordinal)).ToList();
        Assert.Equal(code, Assert.Single(config_issues).Code);
        Assert.Equal(code == C.ConfigTscMode ? XenIssueSeverity.Warning : XenIssueSeverity.Error, config_issues[0].Severity);

        // The same stream with the sample config breaks no config rule.
        var fine = Verify(ImageBuilder.Build(spec with { Config = what == "viridian" ? config : SampleConfig.HvmJson }));
        if (what == "viridian")
        {
            // 0x65 (the defaults group) is what libxl sets: the same value in the stream is fine.
            fine = Verify(ImageBuilder.Build(new ImageSpec { Config = config, HvmParams = SampleConfig.HvmParams.Append(new KeyValuePair<ulong, ulong>(9, 0x65)).ToList() }));
        }

        Assert.DoesNotContain(fine.Issues, i => i.Code.StartsWith("Config", StringComparison.Ordinal));
    }

    [Fact]
    public void XlTextAndLibvirtXmlConfigsAreRead()
    {
        var xl = DomainConfig.FromXl("name = \"web01\"\nbuilder = \"hvm\"\nmemory = 1024\nmaxmem = 2048\nvcpus = 2\nviridian = 1\ntsc_mode = \"native\"\n", json: false)!;
        Assert.Equal(("web01", "hvm", 1048576UL, 2097152UL, 2, true, "native"), (xl.Name, xl.Type, xl.TargetMemKb, xl.MaxMemKb, xl.MaxVcpus, xl.Viridian, xl.TscModeName));
        var lv = DomainConfig.FromLibvirtXml("<domain type='xen'><name>db</name><uuid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</uuid><memory unit='KiB'>4194304</memory><currentMemory unit='KiB'>2097152</currentMemory><vcpu>4</vcpu><os><type>hvm</type></os><devices><disk><source file='/var/lib/xen/images/db.img'/><target dev='xvda'/></disk><interface type='bridge'><mac address='00:16:3e:00:00:01'/><source bridge='xenbr0'/></interface></devices></domain>")!;
        Assert.Equal(("db", "hvm", 4194304UL, 2097152UL, 4), (lv.Name, lv.Type, lv.MaxMemKb, lv.TargetMemKb, lv.MaxVcpus));
        Assert.Equal("xvda=/var/lib/xen/images/db.img", Assert.Single(lv.Disks));
        Assert.Equal("00:16:3e:00:00:01@xenbr0", Assert.Single(lv.Nics));
        Assert.Null(DomainConfig.FromLibvirtXml("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><domain>&e;</domain>"));
    }

    [Fact]
    public void XenServerImagesFollowXenopsdsRules()
    {
        // The images and their other cases are in tests/Unit/Containers/ContainerTests.cs.
        Assert.True(Verify(ContainerImages.XenServerHvm()).IsValid);
        Assert.Contains(Verify(ContainerImages.XenServerHvm(ContainerImages.XenopsRecord(staticMax: 1L << 30, dynamicMax: 2L << 30))).Issues, i => i.Code == C.XenServerMemoryTarget);
        byte[] libxc = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 8, BatchSize = 8, Config = null, EmulatorState = null, XenstoreData = false });
        byte[] xenops = System.Text.Encoding.UTF8.GetBytes(ContainerImages.XenopsRecord());
        Assert.Contains(Verify(ContainerImages.XenServer((0x00F0, null, libxc), (0x000F, xenops, null), (0xFFFF, null, null))).Issues, i => i.Code == C.XenServerRecordOrder);
        Assert.Contains(Verify(ContainerImages.XenServer((0x000F, xenops, null), (0x00F0, null, libxc), (0x0F00, new byte[(1 << 20) + 8], null), (0xFFFF, null, null))).Issues, i => i.Code == C.XenServerQemuTooLarge);
    }

    [Fact]
    public void EveryRuleIsExercisedByThisFile()
    {
        string source = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "tests", "Unit", "Core", "VerifierTests.cs"));
        foreach (XenIssueCode code in XenIssueCodes.All)
        {
            bool named = source.Contains("C." + code.Code, StringComparison.Ordinal) || source.Contains("XenErrorIds." + code.Code, StringComparison.Ordinal);
            Assert.True(named, code.Code + " has no test");
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static XenStreamValidationResult Verify(byte[] data, bool seekable = true, int chunk = int.MaxValue, string? path = null, bool strict = false)
    {
        Stream s = new MemoryStream(data);
        if (!seekable)
        {
            s = new NonSeekableStream(s, chunk);
        }

        return XenStreamVerifier.Verify(s, new XenStreamVerifierOptions { SourcePath = path, Strict = strict });
    }

    private static void AssertIssue(byte[] data, string code, long offset)
    {
        var result = Verify(data);
        var matches = result.Issues.Where(i => i.Code == code).ToList();
        Assert.True(matches.Count > 0, $"expected {code}; got: {string.Join("; ", result.Issues)}");
        Assert.True(matches.Any(i => i.Offset == offset), $"{code} expected at offset {offset}; got {string.Join(", ", matches.Select(i => i.Offset))}: {matches[0].Message}");
        XenIssueSeverity severity = XenIssueCodes.Get(code).Severity;
        Assert.All(matches, i => Assert.Equal(severity, i.Severity));
        Assert.Equal(severity != XenIssueSeverity.Error && result.ErrorCount == 0, result.IsValid);
        if (severity == XenIssueSeverity.Warning && result.ErrorCount == 0)
        {
            Assert.False(Verify(data, strict: true).IsValid);
        }
    }

    private static XenStreamValidationResult VerifyContext(byte[] blob) =>
        Verify(Bare(XenGuestType.Hvm, 3, w => HvmBody(w, context: blob)));

    private static void AssertContextIssue(byte[] blob, string code, int blobOffset)
    {
        byte[] data = Bare(XenGuestType.Hvm, 3, w => HvmBody(w, context: blob));
        var record = ReadAll(data).Single(r => r.Type == XenRecordType.HvmContext);
        AssertIssue(data, code, record.PayloadOffset + blobOffset);
    }

    private static byte[] Splice(byte[] blob, int at, int remove, byte[] insert) =>
        blob.AsSpan(0, at).ToArray().Concat(insert).Concat(blob.AsSpan(at + remove).ToArray()).ToArray();

    private static long OffsetOf(byte[] data, XenRecordType type, int nth = 0) =>
        ReadAllLenient(data).Where(r => r.Type == type).ElementAt(nth).Offset;

    // Reads what can be read (the streams under test may be invalid on purpose).
    private static List<XenStreamRecord> ReadAllLenient(byte[] data)
    {
        using var reader = new XenStreamReader(new MemoryStream(data));
        var list = new List<XenStreamRecord>();
        try
        {
            XenStreamRecord? r;
            while ((r = reader.ReadNext()) is not null)
            {
                list.Add(r);
            }
        }
        catch (XenFormatException)
        {
        }

        return list;
    }

    private static byte[] Xl(byte[] xlHeader) =>
        xlHeader.Concat(ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, ParamsBeforeContext = true })).ToArray();

    private static byte[] Libxl(XenGuestType guest, Action<XenStreamWriter>? after = null, byte[]? libxcContextBody = null)
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteLibxlHeader();
            w.WriteRecord(LibxlFormat.LibxcContext, libxcContextBody ?? Array.Empty<byte>());
            WriteLibxc(w, guest, 3, guest == XenGuestType.Hvm ? HvmBody : w2 => PvBody(w2), 12, 4, 0, null);
            after?.Invoke(w);
            w.WriteEmptyRecord(LibxlFormat.End);
        }

        return ms.ToArray();
    }

    private static byte[] Bare(XenGuestType guest, uint version, Action<XenStreamWriter> body, ushort pageShift = 12, uint xenMajor = 4, ushort imageOptions = 0, byte[]? endBody = null)
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            WriteLibxc(w, guest, version, body, pageShift, xenMajor, imageOptions, endBody);
        }

        return ms.ToArray();
    }

    private static void WriteLibxc(XenStreamWriter w, XenGuestType guest, uint version, Action<XenStreamWriter> body, ushort pageShift, uint xenMajor, ushort imageOptions, byte[]? endBody)
    {
        w.WriteImageHeader(version, imageOptions);
        w.WriteDomainHeader(guest, xenMajor, 19, pageShift);
        body(w);
        w.WriteRecord(LibxcFormat.End, endBody ?? Array.Empty<byte>());
    }

    private static readonly byte[] s_defaultContext = ImageBuilder.HvmContextBlob(1);

    private static void HvmBody(XenStreamWriter w) => HvmBody(w, sde: true);

    private static void HvmBody(XenStreamWriter w, bool sde = true, bool paramsFirst = true, byte[]? context = null, bool omitContext = false)
    {
        context = omitContext ? null : context ?? s_defaultContext;
        if (sde)
        {
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
        }

        w.WritePageData(new ulong[] { 0, 1 }, new byte[8192]);
        w.WriteTscInfo(TscMode.Default, 2_400_000, 1, 1);
        if (paramsFirst)
        {
            w.WriteHvmParams(SampleConfig.HvmParams);
        }

        if (context is not null)
        {
            w.WriteHvmContext(context);
        }

        if (!paramsFirst)
        {
            w.WriteHvmParams(SampleConfig.HvmParams);
        }
    }

    private static void Vcpu0(XenStreamWriter w) => w.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 0, new byte[LibxcFormat.VcpuBasicSize64]);

    private static void PvBody(XenStreamWriter w, string order = "info sde p2m pages tail", byte width = 8, byte levels = 4,
        byte[]? pvInfoBody = null, (uint Start, uint End, int Frames)? p2m = null, Action<XenStreamWriter>? vcpus = null, byte[]? sharedInfo = null)
    {
        foreach (string step in order.Split(' '))
        {
            switch (step)
            {
                case "info":
                    w.WriteRecord(LibxcFormat.X86PvInfo, pvInfoBody ?? LibxcFormat.EncodePvInfo(width, levels));
                    break;
                case "sde":
                    w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
                    break;
                case "p2m":
                    var (start, end, frames) = p2m ?? (0u, 1023u, width == 8 ? 2 : 1);
                    w.WriteP2mFrames(start, end, Enumerable.Range(0, frames).Select(i => (ulong)(0x100 + i)).ToList());
                    break;
                case "pages":
                    w.WritePageData(new ulong[] { 0, (1UL << 60) | 1 }, new byte[8192]);
                    break;
                case "vcpu":
                    Vcpu0(w);
                    break;
                case "shared":
                    w.WriteSharedInfo(new byte[4096]);
                    break;
                case "tail":
                    w.WriteTscInfo(TscMode.Default, 2_400_000, 1, 1);
                    w.WriteSharedInfo(sharedInfo ?? new byte[4096]);
                    if (vcpus is null)
                    {
                        Vcpu0(w);
                    }
                    else
                    {
                        vcpus(w);
                    }

                    break;
            }
        }
    }
}
