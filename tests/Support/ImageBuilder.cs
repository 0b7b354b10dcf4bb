using System.Buffers.Binary;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.TestSupport;

/// <summary>Which wrappers surround the libxc stream.</summary>
public enum Wrapping
{
    /// <summary>A bare libxc stream.</summary>
    None,
    /// <summary>libxl header + LIBXC_CONTEXT ... libxl END.</summary>
    Libxl,
    /// <summary>xl header, then libxl.</summary>
    Xl,
}

/// <summary>What a synthetic image contains. Defaults give a small, valid, current (v3) image.</summary>
public sealed record ImageSpec
{
    public XenGuestType GuestType { get; init; } = XenGuestType.Hvm;
    public uint Version { get; init; } = 3;
    public Wrapping Wrapping { get; init; } = Wrapping.Xl;
    public int Pages { get; init; } = 40;
    public int BatchSize { get; init; } = 16;
    public int Vcpus { get; init; } = 2;
    /// <summary>PV only: 4 or 8.</summary>
    public int GuestWidth { get; init; } = 8;
    /// <summary>Checkpoint cycles before the final one (0 = plain save).</summary>
    public int Checkpoints { get; init; }
    /// <summary>xl header config; null writes none.</summary>
    public string? Config { get; init; } = SampleConfig.HvmJson;
    public XlMandatoryFlags XlFlags { get; init; } = XlMandatoryFlags.Json | XlMandatoryFlags.StreamV2;
    /// <summary>QEMU state for EMULATOR_CONTEXT (HVM, libxl); null leaves the record out.</summary>
    public byte[]? EmulatorState { get; init; } = SampleConfig.FakeQemuState;
    public bool XenstoreData { get; init; } = true;
    /// <summary>HVM: write HVM_PARAMS before HVM_CONTEXT (the spec's order) instead of after (C's order).</summary>
    public bool ParamsBeforeContext { get; init; }
    /// <summary>Every n-th PFN is sent as XTAB (no data); 0 = none.</summary>
    public int XtabEvery { get; init; } = 7;
    /// <summary>HVM_PARAMS entries (HVM).</summary>
    public IReadOnlyList<KeyValuePair<ulong, ulong>> HvmParams { get; init; } = SampleConfig.HvmParams;
}

/// <summary>Builds synthetic save images with <see cref="XenStreamWriter"/>.</summary>
public static class ImageBuilder
{
    public static byte[] Build(ImageSpec spec)
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            Write(w, spec);
        }

        return ms.ToArray();
    }

    public static void Write(XenStreamWriter w, ImageSpec spec)
    {
        bool libxl = spec.Wrapping != Wrapping.None;
        bool hvm = spec.GuestType == XenGuestType.Hvm;
        if (spec.Wrapping == Wrapping.Xl)
        {
            w.WriteXlHeader(spec.XlFlags, spec.Config);
        }

        if (libxl)
        {
            w.WriteLibxlHeader();
            w.WriteEmptyRecord(LibxlFormat.LibxcContext);
        }

        w.WriteImageHeader(spec.Version);
        w.WriteDomainHeader(spec.GuestType, 4, 19);
        if (!hvm)
        {
            w.WritePvInfo((byte)spec.GuestWidth, (byte)(spec.GuestWidth == 8 ? 4 : 3));
        }

        if (spec.Version >= 3)
        {
            w.WriteCpuidPolicy(SampleConfig.CpuidLeaves);
            w.WriteMsrPolicy(SampleConfig.MsrEntries);
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
        }

        if (!hvm)
        {
            uint p2mSize = (uint)Math.Max(spec.Pages, 1);
            int fpp = 4096 / spec.GuestWidth;
            var frames = new List<ulong>();
            for (long i = 0; i <= (p2mSize - 1) / fpp; i++)
            {
                frames.Add(0x10000 + (ulong)i);
            }

            w.WriteP2mFrames(0, p2mSize - 1, frames);
        }

        for (int cycle = 0; cycle <= spec.Checkpoints; cycle++)
        {
            // The first pass sends every page; later checkpoints resend a few "dirty" ones.
            int pages = cycle == 0 ? spec.Pages : Math.Min(spec.Pages, 3);
            WritePages(w, spec, pages, cycle);
            WriteTail(w, spec, hvm);
            if (cycle < spec.Checkpoints)
            {
                w.WriteEmptyRecord(LibxcFormat.Checkpoint);
                if (libxl)
                {
                    WriteEmulatorRecords(w, spec, hvm);
                    w.WriteEmptyRecord(LibxlFormat.CheckpointEnd);
                }
            }
        }

        w.WriteEmptyRecord(LibxcFormat.End);
        if (libxl)
        {
            WriteEmulatorRecords(w, spec, hvm);
            w.WriteEmptyRecord(LibxlFormat.End);
        }
    }

    private static void WritePages(XenStreamWriter w, ImageSpec spec, int pages, int cycle)
    {
        for (int start = 0; start < pages; start += spec.BatchSize)
        {
            int n = Math.Min(spec.BatchSize, pages - start);
            var words = new List<ulong>(n);
            var data = new MemoryStream();
            for (int i = 0; i < n; i++)
            {
                ulong pfn = (ulong)(start + i);
                XenPageType type = PageTypeFor(spec, pfn);
                words.Add(LibxcFormat.EncodePfn(pfn, type));
                if (LibxcFormat.HasData(type))
                {
                    data.Write(Page(pfn, cycle));
                }
            }

            w.WritePageData(words, data.ToArray());
        }
    }

    private static XenPageType PageTypeFor(ImageSpec spec, ulong pfn)
    {
        if (spec.XtabEvery > 0 && pfn % (ulong)spec.XtabEvery == (ulong)spec.XtabEvery - 1)
        {
            return XenPageType.XTab;
        }

        if (spec.GuestType == XenGuestType.Pv && pfn % 5 == 1)
        {
            return spec.GuestWidth == 8 ? XenPageType.L4TabPinned : XenPageType.L3TabPinned;
        }

        if (spec.GuestType == XenGuestType.Pv && pfn % 5 == 2)
        {
            return XenPageType.L1Tab;
        }

        return XenPageType.NoTab;
    }

    private static void WriteTail(XenStreamWriter w, ImageSpec spec, bool hvm)
    {
        w.WriteTscInfo(TscMode.Default, 2_400_000, 123_456_789, 1);
        if (hvm)
        {
            if (spec.ParamsBeforeContext)
            {
                w.WriteHvmParams(spec.HvmParams);
                w.WriteHvmContext(HvmContextBlob(spec.Vcpus));
            }
            else
            {
                w.WriteHvmContext(HvmContextBlob(spec.Vcpus));
                w.WriteHvmParams(spec.HvmParams);
            }

            return;
        }

        w.WriteSharedInfo(Page(0xFFFF, 0));
        for (uint v = 0; v < spec.Vcpus; v++)
        {
            w.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, v, spec.GuestWidth == 8 ? PvVcpuBasic64((int)v) : Filled(LibxcFormat.VcpuBasicSize32, (byte)(0x40 + v)));
            w.WritePvVcpu(LibxcFormat.X86PvVcpuExtended, v, Filled(128, 0x11));
            w.WritePvVcpu(LibxcFormat.X86PvVcpuXsave, v, Filled(16 + 576, 0x22));
            w.WritePvVcpu(LibxcFormat.X86PvVcpuMsrs, v, new ByteBuilder().U32(0xC0011027).U32(0).U64(0xFFFFFFFF).ToArray());
        }
    }

    private static void WriteEmulatorRecords(XenStreamWriter w, ImageSpec spec, bool hvm)
    {
        if (!hvm)
        {
            return;
        }

        if (spec.XenstoreData)
        {
            w.WriteEmulatorXenstoreData(EmulatorKind.QemuUpstream, 0, SampleConfig.PhysmapPairs);
        }

        if (spec.EmulatorState is not null)
        {
            w.WriteEmulatorContext(EmulatorKind.QemuUpstream, 0, spec.EmulatorState);
        }
    }

    /// <summary>Deterministic page contents: differs per pfn and per checkpoint cycle.</summary>
    public static byte[] Page(ulong pfn, int cycle)
    {
        var page = new byte[LibxcFormat.PageSize];
        ulong x = (pfn + 1) * 0x9E3779B97F4A7C15UL ^ (ulong)cycle;
        for (int i = 0; i < page.Length; i += 8)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(i), x);
        }

        return page;
    }

    public static byte[] Filled(int length, byte value)
    {
        var b = new byte[length];
        Array.Fill(b, value);
        return b;
    }

    /// <summary>
    /// A structurally valid HVM context (docs/formats §6) as Xen writes it: HEADER, per-type entries in
    /// typecode order (per-vCPU types once per vCPU), END. Field values are a guest at reset.
    /// </summary>
    public static byte[] HvmContextBlob(int vcpus)
    {
        var b = new ByteBuilder(8192);
        void Entry(ushort code, ushort instance, ReadOnlySpan<byte> payload)
        {
            b.U16(code).U16(instance).U32((uint)payload.Length).Bytes(payload);
        }

        Entry(1, 0, new ByteBuilder().U32(0x54381286).U32(1).U64(ulong.MaxValue).U32(0x000906EA).U32(2_400_000).ToArray());
        for (ushort v = 0; v < vcpus; v++)
        {
            Entry(2, v, CpuEntry(v));
        }

        Entry(3, 0, new byte[] { 0, 0xFB, 0, 0x08, 0, 0x40, 0, 0 });
        Entry(3, 1, new byte[] { 0, 0xFF, 0, 0x70, 0, 0x00, 0, 0 });
        var ioapic = new ByteBuilder().U64(0xFEC00000).U32(0).U32(0);
        for (int pin = 0; pin < 48; pin++)
        {
            ioapic.U64(1UL << 16); // masked
        }

        Entry(4, 0, ioapic.ToArray());
        for (ushort v = 0; v < vcpus; v++)
        {
            Entry(5, v, new ByteBuilder().U64(0xFEE00800UL | (v == 0 ? 0x100UL : 0)).U32(0).U32(0).U64(0).U32(0).U32(0).ToArray());
        }

        for (ushort v = 0; v < vcpus; v++)
        {
            var regs = new byte[1024];
            BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan(0x20), (uint)(v * 2) << 24);
            BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan(0x30), 0x00050014);
            Entry(6, v, regs);
        }

        Entry(7, 0, new byte[16]);
        Entry(8, 0, new byte[8]);
        Entry(9, 0, new byte[] { 5, 10, 11, 5, 0, 0, 0, 0 });
        var pit = new ByteBuilder();
        for (int ch = 0; ch < 3; ch++)
        {
            pit.U32(0x10000).U16(0).U8(0).U8(0).U8(0).U8(0).U8(0).U8(0).U8(3).U8(ch == 0 ? (byte)2 : (byte)3).U8(0).U8(ch < 2 ? (byte)1 : (byte)0);
        }

        Entry(10, 0, pit.U32(0).U32(0).ToArray());
        Entry(11, 0, new ByteBuilder().Bytes(new byte[] { 0x30, 0, 0x15, 0, 0x12, 0, 0x02, 0x23, 0x11, 0x26, 0x26, 0x02, 0, 0x80 }).U8(0).U8(0).I64(0).ToArray());
        var hpet = new byte[1048];
        BinaryPrimitives.WriteUInt64LittleEndian(hpet, 0x00F424008086A201UL);
        for (int t = 0; t < 3; t++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(hpet.AsSpan(0x100 + (0x20 * t)), 0x00F0000000000030UL);
            BinaryPrimitives.WriteUInt64LittleEndian(hpet.AsSpan(0x108 + (0x20 * t)), ulong.MaxValue);
        }

        Entry(12, 0, hpet);
        Entry(13, 0, new byte[8]);
        for (ushort v = 0; v < vcpus; v++)
        {
            var mtrr = new ByteBuilder().U64(0x0007040600070406UL);
            mtrr.Zeros(16 * 8).Zeros(11 * 8).U64(0x508).U64(0xC06);
            Entry(14, v, mtrr.ToArray());
        }

        for (ushort v = 0; v < vcpus; v++)
        {
            var xsave = new ByteBuilder().U64(3).U64(3).U64(3);
            var area = new byte[576];
            BinaryPrimitives.WriteUInt16LittleEndian(area, 0x37F);
            BinaryPrimitives.WriteUInt32LittleEndian(area.AsSpan(24), 0x1F80);
            BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(512), 3);
            Entry(16, v, xsave.Bytes(area).ToArray());
        }

        for (ushort v = 0; v < vcpus; v++)
        {
            Entry(19, v, new byte[8]);
        }

        Entry(0, 0, ReadOnlySpan<byte>.Empty);
        return b.ToArray();
    }

    // A 64-bit Linux guest idling in native_safe_halt (nokaslr addresses), as Xen saves hvm_hw_cpu.
    private static byte[] CpuEntry(int vcpu)
    {
        var cpu = new byte[1032];
        void U64(int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(cpu.AsSpan(at), v);
        void U32(int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(cpu.AsSpan(at), v);
        BinaryPrimitives.WriteUInt16LittleEndian(cpu, 0x37F);
        U32(24, 0x1F80);
        U64(512, 0); U64(520, (ulong)vcpu); U64(544, 0xFFFFFFFF82803EB0UL - ((ulong)vcpu * 0x100));
        U64(568, vcpu == 0 ? 0xFFFFFFFF82803E98UL : 0xFFFFC900000CBEA8UL);     // rsp
        U64(640, 0xFFFFFFFF81C0F2ABUL);                                          // rip: native_safe_halt+0xb
        U64(648, 0x246);                                                         // rflags: IF ZF PF
        U64(656, 0x80050033); U64(664, 0x7F3C2A1B5000UL); U64(672, 0x1C000); U64(680, 0x3506F0);
        U64(720, 0xFFFF0FF0); U64(728, 0x400);
        U32(736, 0x10); U32(740, 0x18); U32(744, 0x18); U32(748, 0); U32(752, 0); U32(756, 0x18); U32(760, 0x40); U32(764, 0);
        uint[] limits = { 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0x4087, 0xFFFF, 0xFFF, 0x7F };
        for (int i = 0; i < limits.Length; i++)
        {
            U32(768 + (4 * i), limits[i]);
        }

        ulong gsBase = 0xFFFF88803E600000UL + ((ulong)vcpu * 0x40000);
        U64(840, gsBase);                                                        // gs base (kernel per-cpu area)
        U64(856, 0xFFFFFE0000003000UL + ((ulong)vcpu * 0x10000));                // tr base
        U64(872, 0xFFFFFE0000000000UL); U64(880, 0xFFFFFE0000001000UL + ((ulong)vcpu * 0x10000));
        U32(888, 0xA9B); U32(892, 0xC93); U32(896, 0xC93); U32(900, 0x10000); U32(904, 0x10000); U32(908, 0xC93); U32(912, 0x8B); U32(916, 0x10000);
        U64(920, 0x10); U64(936, 0xFFFFFFFF81E01A30UL);                          // sysenter cs, eip
        U64(960, 0xFFFFFFFF81E00080UL); U64(968, 0x0023001000000000UL); U64(976, 0xFFFFFFFF81E01740UL); U64(984, 0x257FD5);
        U64(992, 0xD01);                                                         // EFER: SCE LME LMA NXE
        U64(1008, 0x2B3F1C9E44AUL + ((ulong)vcpu * 0x1F));                       // tsc
        U32(1024, 1);                                                            // FPU initialised
        return cpu;
    }

    /// <summary>A 64-bit PV vCPU (vcpu_guest_context_x86_64): a Linux kernel idling in the hypercall page.</summary>
    public static byte[] PvVcpuBasic64(int vcpu)
    {
        var b = new byte[LibxcFormat.VcpuBasicSize64];
        void U64(int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);
        BinaryPrimitives.WriteUInt16LittleEndian(b, 0x37F);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), 0x1F80);
        U64(512, 0x1 | 0x4 | 0x20);                                               // VGCF_I387_VALID | VGCF_IN_KERNEL | VGCF_ONLINE
        U64(520 + 80, 0); U64(520 + 88, 0xFFFFFFFF81001380UL); U64(520 + 104, (ulong)vcpu);
        U64(648, 0xFFFFFFFF810013AAUL);                                          // rip: xen_hypercall_sched_op+0xa
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(656), 0xE033);        // FLAT_KERNEL_CS64
        U64(664, 0x246);
        U64(672, vcpu == 0 ? 0xFFFFFFFF82803E80UL : 0xFFFFC900000D3E88UL);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(680), 0xE02B);        // FLAT_KERNEL_SS64
        U64(4960, 0x80); U64(4968, 0xE02B); U64(4976, vcpu == 0 ? 0xFFFFFFFF82804000UL : 0xFFFFC900000D4000UL);
        U64(4832, 0x1D);                                                         // gdt frame
        U64(4984 + 24, 0x1A000);                                                 // cr3: pfn 0x1a (xen_pfn_to_cr3)
        U64(4984 + 32, 0x2660);                                                  // cr4
        U64(5112, 0xFFFFFFFF81E01000UL); U64(5120, 0xFFFFFFFF81E01060UL); U64(5128, 0xFFFFFFFF81E00080UL);
        U64(5136, 0x2D);                                                         // vm_assist
        U64(5152, 0xFFFF88803E600000UL + ((ulong)vcpu * 0x40000));              // gs_base_kernel
        return b;
    }
}

/// <summary>Realistic fixed contents for synthetic images.</summary>
public static class SampleConfig
{
    /// <summary>A libxl domain configuration as `xl save` stores it (trimmed).</summary>
    public const string HvmJson = """
{
    "c_info": {
        "type": "hvm",
        "name": "web01",
        "uuid": "4f2a8c1e-3b7d-4e9a-a6c2-9d1e5f7b3c28"
    },
    "b_info": {
        "max_vcpus": 2,
        "avail_vcpus": [0, 1],
        "max_memkb": 1048576,
        "target_memkb": 1048576,
        "shadow_memkb": 9216,
        "device_model_version": "qemu_xen",
        "type.hvm": {
            "firmware": "bios",
            "acpi": "True",
            "hpet": "True",
            "vnc": {"enable": "False"}
        }
    },
    "nics": [{"devid": 0, "mac": "00:16:3e:5a:21:07", "bridge": "xenbr0"}],
    "disks": [{"pdev_path": "/dev/vg0/web01", "vdev": "xvda", "format": "raw", "readwrite": 1}],
    "on_crash": "restart"
}
""";

    /// <summary>A PV domain configuration as `xl save` stores it (trimmed).</summary>
    public const string PvJson = """
{
    "c_info": {
        "type": "pv",
        "name": "dns02",
        "uuid": "9b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
    },
    "b_info": {
        "max_vcpus": 2,
        "avail_vcpus": [0, 1],
        "max_memkb": 524288,
        "target_memkb": 524288,
        "type.pv": {
            "bootloader": "pygrub"
        }
    },
    "nics": [{"devid": 0, "mac": "00:16:3e:11:22:33", "bridge": "xenbr0"}],
    "disks": [{"pdev_path": "/dev/vg0/dns02", "vdev": "xvda", "format": "raw", "readwrite": 1}],
    "on_crash": "restart"
}
""";

    public static readonly IReadOnlyList<CpuidLeaf> CpuidLeaves = new[]
    {
        new CpuidLeaf(0x0, CpuidLeaf.NoSubleaf, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69),
        new CpuidLeaf(0x1, CpuidLeaf.NoSubleaf, 0x000906EA, 0x00020800, 0xF7FA3223, 0x178BFBFF),
        new CpuidLeaf(0x7, 0, 0, 0x009C4FBB, 0, 0x9C000400),
        new CpuidLeaf(0xD, 0, 0x7, 0x340, 0x340, 0),
        new CpuidLeaf(0xD, 1, 0x1, 0, 0, 0),
        new CpuidLeaf(0x80000000, CpuidLeaf.NoSubleaf, 0x80000008, 0, 0, 0),
        new CpuidLeaf(0x80000001, CpuidLeaf.NoSubleaf, 0, 0, 0x121, 0x2C100800),
    };

    public static readonly IReadOnlyList<MsrEntry> MsrEntries = new[]
    {
        new MsrEntry(0xCE, 0, 0),
        new MsrEntry(0x10A, 0, 0x0C000008),
    };

    public static readonly IReadOnlyList<KeyValuePair<ulong, ulong>> HvmParams = new[]
    {
        P(HvmParamNames.StorePfn, 0xFEFFC),
        P(HvmParamNames.IoreqPfn, 0xFEFFF),
        P(HvmParamNames.BufioreqPfn, 0xFEFFE),
        P(HvmParamNames.ConsolePfn, 0xFEFFD),
        P(HvmParamNames.AcpiIoportsLocation, 1),
        P(HvmParamNames.IdentPt, 0xFEFFB000),
    };

    public static readonly IReadOnlyList<KeyValuePair<string, string>> PhysmapPairs = new[]
    {
        new KeyValuePair<string, string>("physmap/f0000000/start_addr", "f0000000"),
        new KeyValuePair<string, string>("physmap/f0000000/size", "800000"),
        new KeyValuePair<string, string>("physmap/f0000000/name", "vga.vram"),
    };

    /// <summary>A few bytes shaped like a QEMU stream, for tests that do not need real QEMU output.</summary>
    public static readonly byte[] FakeQemuState = new ByteBuilder(bigEndian: true).U32(0x5145564D).U32(3).U8(0).ToArray();

    private static KeyValuePair<ulong, ulong> P(ulong index, ulong value) => new(index, value);
}
