using System.Buffers.Binary;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Images;

namespace XenMigration.Tests.HvmContext;

public class HvmContextDecoderTests
{
    // The HPET state of two real `xl save` images of a Windows 10 guest on Xen 4.12.4, as published on
    // xen-devel (April 2021, "Windows is frozen after restore from snapshot"), in
    // ../shared/data/xen-devel-2021-hpet/hpet-values.txt. Only timer 0's HPET_TN_PERIODIC differs.
    public static TheoryData<string, ulong, ulong, ulong, bool> PublishedHpet() => new()
    {
        { "frozen", 0x97b90bc74, 0xf0000000002934, 0xfd4aa84c, false },
        { "unfrozen", 0xacbd23c57, 0xf000000000293c, 0xacbd3761b, true },
    };

    private static byte[] HpetBlob(ulong mainCounter, ulong timer0Config, ulong timer0Comparator) => new HvmContextBuilder()
        .AddHeader(0x000906EA, 0)
        .AddHpet(0xf424008086a201, 3, 0, mainCounter, new[] { (timer0Config, timer0Comparator, 0UL), (0xf0000000000130UL, 0xffffffffUL, 0UL), (0xf0000000000130UL, 0xffffffffUL, 0UL) }, new ulong[] { 0xee6b2, 0, 0 })
        .AddEnd()
        .ToArray();

    [Theory]
    [MemberData(nameof(PublishedHpet))]
    public void ThePublishedHpetStateDecodesValueForValue(string image, ulong mc64, ulong timer0Config, ulong timer0Cmp, bool periodic)
    {
        var hpet = Assert.Single(HvmContextDecoder.Decode(HpetBlob(mc64, timer0Config, timer0Cmp)).OfType<HvmHpetEntry>());
        Assert.Equal(HvmTypeCode.Hpet, hpet.TypeCode);
        Assert.Equal(0xf424008086a201UL, hpet.Capability);
        Assert.Equal((1, 3, true, true, 0x8086, 16_000_000u), (hpet.Revision, hpet.TimerCount, hpet.Counter64Bit, hpet.LegacyCapable, hpet.VendorId, hpet.PeriodFs));
        Assert.Equal(3UL, hpet.Config);
        Assert.True(hpet.Enabled);
        Assert.True(hpet.LegacyRouting);
        Assert.Equal(0UL, hpet.Isr);
        Assert.Equal(mc64, hpet.MainCounter);
        Assert.True(hpet.ReservedZero);

        HvmHpetTimer t0 = hpet.Timers[0];
        Assert.Equal(timer0Config, t0.Config);
        Assert.Equal(timer0Cmp, t0.Comparator);
        Assert.Equal(0UL, t0.FsbRoute);
        Assert.Equal(0xee6b2UL, t0.Period);
        Assert.True(periodic == t0.Periodic, image + ": timer 0 HPET_TN_PERIODIC");
        Assert.True(t0.Enabled);
        Assert.True(t0.PeriodicCapable);
        Assert.True(t0.Is64BitCapable);
        Assert.False(t0.Level);
        Assert.True(t0.Mode32Bit);                     // 0x100: Windows runs timer 0 in 32-bit mode
        Assert.Equal(20, t0.Route);                    // (0x2934 >> 9) & 0x1f: IOAPIC pin 20
        Assert.Equal(0x00F00000u, t0.RouteCapability);  // pins 20-23
        foreach (HvmHpetTimer t in hpet.Timers.Skip(1))
        {
            Assert.Equal((0xf0000000000130UL, 0xffffffffUL, 0UL, 0UL), (t.Config, t.Comparator, t.FsbRoute, t.Period));
            Assert.False(t.Enabled);
            Assert.False(t.Periodic);
            Assert.True(t.Mode32Bit);
        }
    }

    [Fact]
    public void EveryTypecodeOfTheSampleContextIsDecoded()
    {
        byte[] blob = ImageBuilder.HvmContextBlob(2);
        List<HvmContextEntry> entries = HvmContextDecoder.Decode(blob, fileOffset: 1000).ToList();
        Assert.Equal(HvmTypeCode.Header, entries[0].TypeCode);
        Assert.Equal(HvmTypeCode.End, entries[^1].TypeCode);
        Assert.Equal(1000, entries[0].Offset);
        Assert.DoesNotContain(entries, e => e is HvmUnknownEntry);

        var header = (HvmHeaderEntry)entries[0];
        Assert.Equal((0x54381286u, 1u, 0x906EAu, 2_400_000u, 6u, 0x9Eu), (header.Magic, header.Version, header.Cpuid, header.GtscKhz, header.Family, header.Model));
        var cpu = entries.OfType<HvmCpuEntry>().ToList();
        Assert.Equal(new ushort[] { 0, 1 }, cpu.Select(c => c.Instance));
        Assert.Equal(0xFFFFFFFF81C0F2ABUL, cpu[0].Rip);
        Assert.Equal("Long", cpu[0].Mode);
        Assert.Equal(0x10u, cpu[0].Cs.Selector);
        var pics = entries.OfType<HvmPicEntry>().ToList();
        Assert.True(pics[0].IsMaster);
        Assert.False(pics[1].IsMaster);
        Assert.Equal((byte)0x70, pics[1].IrqBase);
        var ioapic = entries.OfType<HvmIoApicEntry>().Single();
        Assert.Equal(0xFEC00000UL, ioapic.BaseAddress);
        Assert.All(ioapic.Pins, p => Assert.True(p.Masked));
        Assert.Equal(48, ioapic.Pins.Count);
        var lapics = entries.OfType<HvmLapicEntry>().ToList();
        Assert.True(lapics[0].Bsp && lapics[0].Enabled && !lapics[1].Bsp);
        Assert.Equal(0xFEE00000UL, lapics[1].BaseAddress);
        var regs = entries.OfType<HvmLapicRegsEntry>().ToList();
        Assert.Equal(2u << 24, regs[1]["ID"]);
        Assert.Equal(0x00050014u, regs[0]["VERSION"]);
        Assert.Equal(new[] { 5, 10, 11, 5 }, entries.OfType<HvmIrqEntry>().Single(e => e.TypeCode == HvmTypeCode.PciLink).Routes);
        var pit = entries.OfType<HvmPitEntry>().Single();
        Assert.Equal((byte)2, pit.Channels[0].Mode);
        Assert.Equal(0x10000u, pit.Channels[0].Count);
        Assert.Equal((byte)0, pit.Channels[2].Gate);
        Assert.Equal("26-11-23 12:15:30", entries.OfType<HvmRtcEntry>().Single().Time);
        Assert.Equal(0x0007040600070406UL, entries.OfType<HvmMtrrEntry>().First().Pat);
        var xsave = entries.OfType<HvmCpuXsaveEntry>().First();
        Assert.Equal(new[] { "x87", "SSE" }, xsave.Components.Select(c => c.Name));
        Assert.Equal(2, entries.OfType<HvmTscAdjustEntry>().Count());
    }

    [Fact]
    public void TheCompatCpuLayoutAndOtherEntriesDecode()
    {
        byte[] compat = new byte[1016];
        BinaryPrimitives.WriteUInt64LittleEndian(compat.AsSpan(640), 0xFFFFFFFF81000000);   // rip
        BinaryPrimitives.WriteUInt64LittleEndian(compat.AsSpan(656), 0x80050033);           // cr0
        BinaryPrimitives.WriteUInt64LittleEndian(compat.AsSpan(992), 0xD01);                // efer
        BinaryPrimitives.WriteUInt64LittleEndian(compat.AsSpan(1000), 0x123456789);         // tsc
        BinaryPrimitives.WriteUInt32LittleEndian(compat.AsSpan(1008), 0x80000B0E);          // #PF with error code
        BinaryPrimitives.WriteUInt32LittleEndian(compat.AsSpan(1012), 2);
        var msr = new ByteBuilder().U32(2).U32(0).U32(0x48).U32(0).U64(1).U32(0xDA0).U32(0).U64(0x100).ToArray();
        var vmce = new ByteBuilder().U64(0x1000806).U64(0).U64(0).U64(0).ToArray();
        var viridian = new ByteBuilder().U64(0x1000).U64(0x1040A00005A64).U64(77).U64(0).ToArray();
        byte[] blob = new HvmContextBuilder().AddHeader(0, 0).Add(HvmTypeCode.Cpu, 3, compat).Add(HvmTypeCode.CpuMsr, 3, msr)
            .Add(HvmTypeCode.VmceVcpu, 3, vmce).Add(HvmTypeCode.ViridianDomain, 0, viridian).Add((HvmTypeCode)33, 0, new byte[] { 1, 2, 3 }).AddEnd().ToArray();
        List<HvmContextEntry> e = HvmContextDecoder.Decode(blob).ToList();

        var cpu = (HvmCpuEntry)e[1];
        Assert.True(cpu.IsCompatLayout);
        Assert.Equal((0xFFFFFFFF81000000UL, 0x123456789UL, "Long"), (cpu.Rip, cpu.Tsc, cpu.Mode));
        Assert.True(cpu.PendingValid && cpu.PendingErrorCodeValid);
        Assert.Equal(((byte)14, 3, 2u), (cpu.PendingVector, cpu.PendingType, cpu.ErrorCode));
        Assert.True(cpu.FpuInitialised);
        var msrs = (HvmCpuMsrEntry)e[2];
        Assert.Equal(new[] { "SPEC_CTRL", "XSS" }, msrs.Msrs.Select(m => m.Name));
        Assert.Equal(0x100UL, msrs.Msrs[1].Value);
        Assert.Equal(0x1000806UL, ((HvmVmceVcpuEntry)e[3]).Caps);
        Assert.Equal(0x1040A00005A64UL, ((HvmViridianDomainEntry)e[4]).GuestOsId);
        var unknown = Assert.IsType<HvmUnknownEntry>(e[5]);
        Assert.Equal("TYPE_33", unknown.Name);
        Assert.Equal(new byte[] { 1, 2, 3 }, unknown.Data);
    }

    [Fact]
    public void MalformedEntriesAreCleanErrorsAtTheirOffset()
    {
        byte[] good = new HvmContextBuilder().AddHeader(0, 0).ToArray();
        (byte[] Blob, long Offset, string Text)[] cases =
        {
            (good.Concat(new byte[5]).ToArray(), 100 + 32, "too few"),
            (good.Concat(new ByteBuilder().U16(12).U16(0).U32(1048).ToArray()).Concat(new byte[100]).ToArray(), 100 + 32, "declares 1048 bytes"),
            (new HvmContextBuilder().AddHeader(0, 0).Add(HvmTypeCode.Hpet, 0, new byte[1040]).ToArray(), 100 + 32, "HPET"),
            (new HvmContextBuilder().AddHeader(0, 0).Add(HvmTypeCode.CpuMsr, 0, new ByteBuilder().U32(5).U32(0).U64(0).U64(0).ToArray()).ToArray(), 100 + 32, "count 5"),
        };
        foreach ((byte[] blob, long offset, string text) in cases)
        {
            var decoded = new List<HvmContextEntry>();
            var ex = Assert.Throws<XenFormatException>(() => decoded.AddRange(HvmContextDecoder.Decode(blob, 100, recordIndex: 7)));
            Assert.Equal(offset, ex.Offset);
            Assert.Equal(7, ex.RecordIndex);
            Assert.Contains(text, ex.Message);
            Assert.Single(decoded);   // the HEADER before the fault
        }
    }

    [Fact]
    public void EachCheckpointOfAStreamIsNumbered()
    {
        string dir = Path.Combine(Path.GetTempPath(), "xm-hvmctx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "remus.save");
            File.WriteAllBytes(file, ImageBuilder.Build(new ImageSpec { Checkpoints = 2, Pages = 4, Vcpus = 1 }));
            var cpus = XenImages.ReadHvmContext(file).OfType<HvmCpuEntry>().ToList();
            Assert.Equal(new[] { 0, 1, 2 }, cpus.Select(c => c.Checkpoint));
            Assert.All(cpus, c => Assert.Equal(file, c.FilePath));
            Assert.Equal(3, cpus.Select(c => c.RecordIndex).Distinct().Count());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
