using System.Text;
using XenMigration.Framing;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.TestSupport;

/// <summary>One physmap entry of libxl's legacy toolstack record.</summary>
public sealed record Physmap(ulong PhysOffset, ulong Start, ulong Size, string Name);

/// <summary>What a synthetic legacy (Xen 4.5 and older) image contains (docs/formats §4).</summary>
public sealed record LegacySpec
{
    public XenGuestType GuestType { get; init; } = XenGuestType.Hvm;
    /// <summary>Bitness of the saving toolstack: the size of every "ulong".</summary>
    public int Width { get; init; } = 64;
    /// <summary>PV: 8 (64-bit guest) or 4.</summary>
    public int GuestWidth { get; init; } = 8;
    public bool XlHeader { get; init; }
    public string? Config { get; init; } = "{\"c_info\":{\"name\":\"legacy\"}}";
    public ulong P2mSize { get; init; } = 0x200;
    public int Pages { get; init; } = 20;
    public int BatchSize { get; init; } = 8;
    /// <summary>0xF0000000 fillers added at the end of every batch.</summary>
    public int FillersPerBatch { get; init; } = 2;
    /// <summary>Adds a batch made only of fillers.</summary>
    public bool FillerOnlyBatch { get; init; }
    public int[] OnlineVcpus { get; init; } = { 0, 1 };
    public bool Extv { get; init; } = true;
    /// <summary>xcnt value (per-vCPU XSAVE record length incl. its 16-byte header); 0 leaves xcnt out.</summary>
    public uint XsaveLength { get; init; } = 16 + 576;
    public int UnmappedPfns { get; init; } = 3;
    public bool Tsc { get; init; } = true;
    /// <summary>HVM param chunks, in stream order.</summary>
    public LegacyChunk[] ParamChunks { get; init; } = LegacyFormat.ParamChunks.Keys.ToArray();
    public Physmap[] Physmaps { get; init; } =
    {
        new(0xF0000000, 0xF0000000, 0x800000, "vga.vram"),
        new(0xFC000000, 0xFC000000, 0x10000, "vga.rom"),
    };
    public bool VerifyAndCheckpointChunks { get; init; } = true;
    /// <summary>HVM device-model record signature; null writes none.</summary>
    public string? QemuSignature { get; init; } = LegacyFormat.QemuSignature;
    public byte[] QemuState { get; init; } = SampleConfig.FakeQemuState;
    /// <summary>Raw chunks inserted before the end-of-body chunk (for refusals).</summary>
    public byte[]? ExtraChunk { get; init; }
}

/// <summary>
/// Writes legacy streams, and — independently, from docs/formats §4.7 — the v2 stream Xen's
/// convert-legacy-stream makes of them, for fast in-process tests of many variants. The evidence for
/// "byte-identical to Xen's converter" is tests/Unit/Oracle, which runs Xen's own tool.
/// </summary>
public static class LegacyImages
{
    /// <summary>A value Xen accepts for the param each chunk carries (as a real guest's would be).</summary>
    public static ulong ParamValue(LegacyChunk chunk) => chunk switch
    {
        LegacyChunk.HvmViridian => 0x1F,                 // base+freq, no_freq, time_ref_count, reference_tsc, hcall_remote_tlb_flush
        LegacyChunk.HvmNrIoreqServerPages => 8,
        LegacyChunk.HvmAcpiIoportsLocation => 1,
        _ => 0xFEFF0000UL + (ulong)(-(int)chunk),       // page frames and addresses: distinct per chunk
    };

    public static byte[] XlHeader(LegacySpec s) => XlFormat.Encode(XlMandatoryFlags.Json, s.Config);

    public static byte[] Build(LegacySpec s)
    {
        var b = new ByteBuilder(1 << 16);
        int w = s.Width / 8;
        void Ulong(ulong v) { if (w == 4) { b.U32((uint)v); } else { b.U64(v); } }

        if (s.XlHeader)
        {
            b.Bytes(XlHeader(s));
        }

        Ulong(s.P2mSize);
        bool pv = s.GuestType == XenGuestType.Pv;
        if (pv)
        {
            Ulong(w == 4 ? uint.MaxValue : ulong.MaxValue);
            var info = new ByteBuilder();
            int basic = s.GuestWidth == 8 ? LibxcFormat.VcpuBasicSize64 : LibxcFormat.VcpuBasicSize32;
            info.Text("vcpu", false).U32((uint)basic).Bytes(ImageBuilder.Filled(basic, 0x5A));
            if (s.Extv)
            {
                info.Text("extv", false).U32(0);
            }

            if (s.XsaveLength != 0)
            {
                info.Text("xcnt", false).U32(4).U32(s.XsaveLength);
            }

            b.U32((uint)info.Length).Bytes(info.Span);
            foreach (ulong f in P2mFrames(s))
            {
                Ulong(f);
            }
        }

        if (pv || s.OnlineVcpus.Length > 0)
        {
            int max = s.OnlineVcpus.Length == 0 ? 0 : s.OnlineVcpus.Max();
            b.I32((int)LegacyChunk.VcpuInfo).I32(max);
            var bitmap = new ulong[(max / 64) + 1];
            foreach (int v in s.OnlineVcpus)
            {
                bitmap[v / 64] |= 1UL << (v % 64);
            }

            foreach (ulong word in bitmap)
            {
                b.U64(word);
            }
        }

        if (s.VerifyAndCheckpointChunks)
        {
            b.I32((int)LegacyChunk.EnableVerifyMode);
        }

        if (s.Tsc)
        {
            b.I32((int)LegacyChunk.TscInfo).U32(1).U64(987_654_321).U32(2_400_000).U32(3);
        }

        if (!pv)
        {
            foreach (LegacyChunk c in s.ParamChunks)
            {
                b.I32((int)c).U32(0).U64(ParamValue(c));
            }

            if (s.Physmaps.Length > 0)
            {
                var ts = new ByteBuilder().U32(1).U32((uint)s.Physmaps.Length);
                foreach (Physmap p in s.Physmaps)
                {
                    byte[] name = Encoding.ASCII.GetBytes(p.Name + "\0");
                    ts.U64(p.PhysOffset).U64(p.Start).U64(p.Size).U32((uint)name.Length).Bytes(name);
                    if (s.Width == 64)
                    {
                        ts.Zeros(4);
                    }
                }

                b.I32((int)LegacyChunk.Toolstack).U32((uint)ts.Length).Bytes(ts.Span);
            }
        }

        foreach (var batch in Batches(s))
        {
            b.I32(batch.Count);
            foreach (ulong word in batch)
            {
                Ulong(word);
            }

            foreach (ulong word in batch)
            {
                if (word != LegacyFormat.XtabFiller && LegacyFormat.HasData(word))
                {
                    b.Bytes(ImageBuilder.Page(word & 0x0FFFFFFF, 0));
                }
            }
        }

        if (s.VerifyAndCheckpointChunks)
        {
            b.I32((int)LegacyChunk.LastCheckpoint);
        }

        if (s.ExtraChunk is not null)
        {
            b.Bytes(s.ExtraChunk);
        }

        b.I32(0);
        if (pv)
        {
            b.U32((uint)s.UnmappedPfns);
            for (int i = 0; i < s.UnmappedPfns; i++)
            {
                Ulong((ulong)(0x1000 + i));
            }

            foreach (int v in s.OnlineVcpus)
            {
                b.Bytes(VcpuBasic(s, v));
                if (s.Extv)
                {
                    b.Bytes(ImageBuilder.Filled(128, (byte)(0x30 + v)));
                }

                if (s.XsaveLength != 0)
                {
                    b.U64(3).U64(s.XsaveLength - 16).Bytes(ImageBuilder.Filled((int)s.XsaveLength - 16, (byte)(0x70 + v)));
                }
            }

            b.Bytes(ImageBuilder.Page(0xABCD, 1));
        }
        else
        {
            b.U64(0xFEFFF).U64(0xFEFFE).U64(0xFEFFC);
            byte[] ctx = ImageBuilder.HvmContextBlob(Math.Max(1, s.OnlineVcpus.Length));
            b.U32((uint)ctx.Length).Bytes(ctx);
            if (s.QemuSignature is not null)
            {
                b.Text(s.QemuSignature, false).U32((uint)s.QemuState.Length).Bytes(s.QemuState);
            }
        }

        return b.ToArray();
    }

    /// <summary>The v2 stream Xen's converter writes for <paramref name="s"/> (with this project's documented corrections).</summary>
    public static byte[] Expected(LegacySpec s, LegacyOutputFormat format, bool skipQemu = false)
    {
        bool pv = s.GuestType == XenGuestType.Pv;
        bool libxl = format == LegacyOutputFormat.Libxl;
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            if (s.XlHeader && libxl)
            {
                byte[] xl = XlHeader(s);
                BitConverter.GetBytes(BitConverter.ToUInt32(xl, 36) | 2).CopyTo(xl, 36);
                w.WriteRaw(xl);
            }

            if (libxl)
            {
                w.WriteLibxlHeader(LibxlFormat.OptionLegacy);
                w.WriteEmptyRecord(LibxlFormat.LibxcContext);
            }

            w.WriteImageHeader(3);
            w.WriteDomainHeader(s.GuestType, 0, 1);
            if (pv)
            {
                w.WritePvInfo((byte)s.GuestWidth, (byte)(s.GuestWidth == 8 ? 4 : 3));
            }

            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
            if (pv)
            {
                w.WriteP2mFrames(0, (uint)(s.P2mSize - 1), P2mFrames(s).ToList());
            }

            if (s.Tsc)
            {
                w.WriteTscInfo((TscMode)1, 2_400_000, 987_654_321, 3);
            }

            foreach (var batch in Batches(s))
            {
                var kept = batch.Where(x => x != LegacyFormat.XtabFiller).ToList();
                if (kept.Count == 0)
                {
                    continue;
                }

                var pages = kept.Where(LegacyFormat.HasData).SelectMany(x => ImageBuilder.Page(x & 0x0FFFFFFF, 0)).ToArray();
                w.WritePageData(kept.Select(x => ((x & 0xF0000000UL) << 32) | (x & 0x0FFFFFFFUL)).ToList(), pages);
            }

            if (!pv && s.ParamChunks.Length > 0)
            {
                w.WriteHvmParams(s.ParamChunks.Select(c => new KeyValuePair<ulong, ulong>(LegacyFormat.ParamChunks[c], ParamValue(c))).ToList());
            }

            if (pv)
            {
                foreach (int v in s.OnlineVcpus)
                {
                    w.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, (uint)v, VcpuBasic(s, v));
                    if (s.Extv)
                    {
                        w.WritePvVcpu(LibxcFormat.X86PvVcpuExtended, (uint)v, ImageBuilder.Filled(128, (byte)(0x30 + v)));
                    }

                    if (s.XsaveLength != 0)
                    {
                        w.WritePvVcpu(LibxcFormat.X86PvVcpuXsave, (uint)v, ImageBuilder.Filled((int)s.XsaveLength - 16, (byte)(0x70 + v)));
                    }
                }

                w.WriteSharedInfo(ImageBuilder.Page(0xABCD, 1));
                w.WriteEmptyRecord(LibxcFormat.End);
            }
            else
            {
                w.WriteHvmParams(new[]
                {
                    new KeyValuePair<ulong, ulong>(HvmParamNames.IoreqPfn, 0xFEFFF),
                    new KeyValuePair<ulong, ulong>(HvmParamNames.BufioreqPfn, 0xFEFFE),
                    new KeyValuePair<ulong, ulong>(HvmParamNames.StorePfn, 0xFEFFC),
                });
                w.WriteHvmContext(ImageBuilder.HvmContextBlob(Math.Max(1, s.OnlineVcpus.Length)));
                w.WriteEmptyRecord(LibxcFormat.End);
            }

            if (libxl && !pv && s.Physmaps.Length > 0)
            {
                var pairs = new List<KeyValuePair<string, string>>();
                foreach (Physmap p in s.Physmaps)
                {
                    string root = "physmap/" + p.PhysOffset.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
                    pairs.Add(new(root + "/start_addr", p.Start.ToString("x", System.Globalization.CultureInfo.InvariantCulture)));
                    pairs.Add(new(root + "/size", p.Size.ToString("x", System.Globalization.CultureInfo.InvariantCulture)));
                    pairs.Add(new(root + "/name", p.Name));
                }

                w.WriteEmulatorXenstoreData(EmulatorKind.Unknown, 0, pairs);
            }

            if (!pv && (libxl || !skipQemu))
            {
                if (libxl)
                {
                    w.WriteEmulatorContext(EmulatorKind.Unknown, 0, s.QemuState);
                }
                else
                {
                    w.WriteRaw(Encoding.ASCII.GetBytes(LegacyFormat.QemuSignature));
                    w.WriteRaw(BitConverter.GetBytes((uint)s.QemuState.Length));
                    w.WriteRaw(s.QemuState);
                }
            }

            if (libxl)
            {
                w.WriteEmptyRecord(LibxlFormat.End);
            }
        }

        return ms.ToArray();
    }

    private static IEnumerable<ulong> P2mFrames(LegacySpec s)
    {
        ulong perFrame = (ulong)(4096 / s.GuestWidth);
        for (ulong i = 0; i < ((s.P2mSize - 1) / perFrame) + 1; i++)
        {
            yield return 0x20000 + i;
        }
    }

    private static byte[] VcpuBasic(LegacySpec s, int vcpu) =>
        ImageBuilder.Filled(s.GuestWidth == 8 ? LibxcFormat.VcpuBasicSize64 : LibxcFormat.VcpuBasicSize32, (byte)(0x10 + vcpu));

    // Page batches as the old saver wrote them: pfns with their type in bits 31-28, fillers after.
    private static IEnumerable<List<ulong>> Batches(LegacySpec s)
    {
        for (int start = 0; start < s.Pages; start += s.BatchSize)
        {
            var batch = new List<ulong>();
            for (int i = start; i < Math.Min(s.Pages, start + s.BatchSize); i++)
            {
                uint type = (uint)(i % 9 == 4 ? 0xF : i % 11 == 5 ? 0xE : s.GuestType == XenGuestType.Pv && i % 6 == 1 ? 0x9 : s.GuestType == XenGuestType.Pv && i % 6 == 2 ? 0x1 : 0x0);
                batch.Add(((ulong)type << 28) | (uint)i);
            }

            for (int f = 0; f < s.FillersPerBatch; f++)
            {
                batch.Add(LegacyFormat.XtabFiller);
            }

            yield return batch;
        }

        if (s.FillerOnlyBatch)
        {
            yield return Enumerable.Repeat(LegacyFormat.XtabFiller, 5).ToList();
        }
    }
}
