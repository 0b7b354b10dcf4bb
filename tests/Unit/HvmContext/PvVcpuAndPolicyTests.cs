using System.Buffers.Binary;
using XenMigration.Libxc;
using XenMigration.XenStream;
using XenMigration.Records;

namespace XenMigration.Tests.HvmContext;

/// <summary>PV vCPU contexts (vcpu_guest_context for 64- and 32-bit guests), MSR and CPUID names, HVM param meanings.</summary>
public class PvVcpuAndPolicyTests
{
    private static List<XenStreamRecord> Read(byte width, Action<XenStreamWriter> vcpus, List<object> contexts)
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteImageHeader(3);
            w.WriteDomainHeader(XenGuestType.Pv, 4, 19);
            w.WritePvInfo(width, width == 8 ? (byte)4 : (byte)3);
            w.WriteCpuidPolicy(new[] { new CpuidLeaf(0, CpuidLeaf.NoSubleaf, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69), new CpuidLeaf(7, 0, 0, 0, 0, 0) });
            w.WriteMsrPolicy(new[] { new MsrEntry(0xCE, 0, 0x80000000), new MsrEntry(0x10A, 0, 0x2B) });
            vcpus(w);
            w.WriteEmptyRecord(0);
        }

        ms.Position = 0;
        var records = new List<XenStreamRecord>();
        using var reader = new XenStreamReader(ms);
        while (reader.ReadNext() is XenStreamRecord r)
        {
            records.Add(r);
            if (r is PvVcpuRecord v)
            {
                contexts.Add(v.ReadContext());   // while the record is current
            }
        }

        return records;
    }

    [Fact]
    public void A64BitGuestsBasicContextGivesItsRegisters()
    {
        byte[] b = new byte[5168];
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(512), 4);                        // flags: VGCF_in_kernel
        int regs = 520;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(regs + 80), 0xAAAA);             // rax
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(regs + 128), 0xFFFFFFFF81000000); // rip
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(regs + 136), 0xE033);            // cs
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(regs + 152), 0xFFFFC90000003F00); // rsp
        int trap = regs + 200 + (14 * 16);                                                 // #PF
        b[trap] = 14;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(trap + 2), 0xE033);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(trap + 8), 0xFFFFFFFF81A00000);
        int cr = regs + 200 + 4096 + 16 + 136 + 16;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(cr + 24), 0x1234000);            // cr3: pfn 0x1234
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(5168 - 24), 0x7F0000000000);     // fs_base
        var contexts = new List<object>();
        Read(8, w => w.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 0, b), contexts);
        var c = Assert.IsType<PvVcpuBasicContext>(Assert.Single(contexts));
        Assert.True(c.Is64Bit && c.InKernel);
        Assert.Equal((0xAAAAUL, 0xFFFFFFFF81000000UL, (ushort)0xE033, 0xFFFFC90000003F00UL), (c.Rax, c.Rip, c.Cs, c.Rsp));
        PvTrapInfo pf = Assert.Single(c.TrapTable);
        Assert.Equal(((byte)14, (ushort)0xE033, 0xFFFFFFFF81A00000UL), (pf.Vector, pf.Cs, pf.Address));
        Assert.Equal(0x1234UL, c.Cr3Pfn);
        Assert.Equal(0x7F0000000000UL, c.FsBase);
    }

    [Fact]
    public void A32BitGuestsContextAndTheOtherVcpuRecordsDecode()
    {
        byte[] b = new byte[2800];
        int regs = 516;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(regs + 24), 0x55);         // eax
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(regs + 32), 0xC0100000);   // eip
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(regs + 44), 0xC0FFEE00);   // esp
        int cr = regs + 68 + 2048 + 8 + 68 + 8;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(cr + 12), 0x00123001);     // PAE cr3: pfn 0x00100123
        byte[] msrs = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(msrs, 0x48);
        BinaryPrimitives.WriteUInt64LittleEndian(msrs.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(msrs.AsSpan(16), 0xC0000103);
        byte[] xsave = new byte[16 + 576];
        BinaryPrimitives.WriteUInt64LittleEndian(xsave, 7);
        BinaryPrimitives.WriteUInt64LittleEndian(xsave.AsSpan(8), 7);
        BinaryPrimitives.WriteUInt64LittleEndian(xsave.AsSpan(16 + 512), 3);
        byte[] ext = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(ext.AsSpan(16), 0xC0101000);
        BinaryPrimitives.WriteUInt16LittleEndian(ext.AsSpan(26), 0x61);
        var contexts = new List<object>();
        List<XenStreamRecord> records = Read(4, w =>
        {
            w.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 1, b);
            w.WritePvVcpu(LibxcFormat.X86PvVcpuExtended, 1, ext);
            w.WritePvVcpu(LibxcFormat.X86PvVcpuXsave, 1, xsave);
            w.WritePvVcpu(LibxcFormat.X86PvVcpuMsrs, 1, msrs);
        }, contexts);
        var basic = Assert.IsType<PvVcpuBasicContext>(contexts[0]);
        Assert.False(basic.Is64Bit);
        Assert.Equal((1u, 0x55UL, 0xC0100000UL, 0xC0FFEE00UL, 0x100123UL), (basic.VcpuId, basic.Rax, basic.Rip, basic.Rsp, basic.Cr3Pfn));
        var e = Assert.IsType<PvVcpuExtendedContext>(contexts[1]);
        Assert.Equal((0xC0101000UL, (ushort)0x61), (e.SysenterCallbackEip, e.SysenterCallbackCs));
        var x = Assert.IsType<PvVcpuXsaveContext>(contexts[2]);
        Assert.Equal(new[] { "x87 (state)", "SSE (state)", "AVX" }, x.Components.Select(c => c.ToString()));
        var m = Assert.IsType<PvVcpuMsrsContext>(contexts[3]);
        Assert.Equal(new[] { "SPEC_CTRL", "TSC_AUX" }, m.Msrs.Select(r => r.Name));

        var cpuid = records.OfType<CpuidPolicyRecord>().Single();
        Assert.Equal("GenuineIntel", cpuid.Vendor);
        Assert.Equal("Structured extended features", cpuid.Leaves[1].Name);
        Assert.Equal(new[] { "PLATFORM_INFO", "ARCH_CAPABILITIES" }, records.OfType<MsrPolicyRecord>().Single().Entries.Select(x => x.Name));
    }

    [Fact]
    public void ABlobOfTheWrongSizeIsACleanError()
    {
        var contexts = new List<object>();
        var ex = Assert.Throws<XenFormatException>(() => Read(8, w => w.WritePvVcpu(LibxcFormat.X86PvVcpuBasic, 0, new byte[2800]), contexts));
        Assert.Contains("is 5168 bytes", ex.Message);
        Assert.Equal(XenErrorIds.InvalidRecord, ex.ErrorId);
    }

    [Theory]
    [InlineData(0UL, 0x0200000000000051UL, "vector 0x51")]
    [InlineData(0UL, 0x0100000000001A01UL, "PCI INTx: domain 0, bus 0, devfn 0x1a (device 3, function 2), INTB")]
    [InlineData(0UL, 28UL, "GSI 28")]
    [InlineData(9UL, 0x1FFUL, "base+freq, no_freq, time_ref_count, reference_tsc, hcall_remote_tlb_flush, apic_assist, crash_ctl, synic, stimer")]
    [InlineData(10UL, 1UL, "no_delay_for_missed_ticks")]
    [InlineData(35UL, 2UL, "external")]
    [InlineData(37UL, 0x00000080_000FF000UL, "address 0xff000, size 128")]
    [InlineData(1UL, 0xFEFFCUL, null)]
    public void HvmParamValuesAreExplainedWhereParamsHDefinesThem(ulong index, ulong value, string? meaning)
    {
        Assert.Equal(meaning, new HvmParam(index, value).Meaning);
    }
}
