using System.Buffers.Binary;
using XenMigration.Qemu;
using XenMigration.Images;

namespace XenMigration.Tests.Qemu;

/// <summary>
/// The pre-VMState x86 cpu layout (versions 4-11). No QEMU that writes it runs here, so the streams are
/// built field by field from the layout (docs/formats §Q12); the test checks the width is found from
/// where the section ends, and the registers land in the same properties as version 12's.
/// </summary>
public class LegacyCpuTests
{
    private static byte[] Stream(int version, int bits)
    {
        var b = new List<byte>();
        void Be(ulong v, int size)
        {
            for (int i = size - 1; i >= 0; i--)
            {
                b.Add((byte)(v >> (8 * i)));
            }
        }

        void Long(ulong v) => Be(v, bits / 8);
        b.AddRange("QEVM"u8.ToArray());
        Be(3, 4);
        // FULL timer v2 (24 bytes), no footers (streams of that age had none)
        b.Add(4); Be(1, 4); b.Add(5); b.AddRange("timer"u8.ToArray()); Be(0, 4); Be(2, 4);
        Be(0x1111, 8); Be(0, 8); Be(0x2222, 8);
        // FULL cpu
        b.Add(4); Be(2, 4); b.Add(3); b.AddRange("cpu"u8.ToArray()); Be(0, 4); Be((ulong)version, 4);
        int nregs = bits == 64 ? 16 : 8;
        for (int i = 0; i < nregs; i++)
        {
            Long(0x100 + (ulong)i);                 // RAX = 0x100, RCX = 0x101, ...
        }

        Long(0xFFF0);                               // eip
        Long(0x46);                                 // eflags
        Be(0x3, 4);                                 // hflags: CPL 3
        Be(0x37F, 2); Be(0, 2); Be(0, 2); Be(1, 2); // fpuc, fpus, fptag, MMX format
        for (int i = 0; i < 8; i++)
        {
            Be(0, 8);
        }

        for (int s = 0; s < 10; s++)
        {
            Be((ulong)(0x8 * (s + 1)), 4); Long(0x1000 * (ulong)s); Be(0xFFFF, 4); Be(0x9300, 4);
        }

        Be(0x10, 4); Long(0x2000); Long(0x3000);   // sysenter (32-bit below v7; same here for v9/v4 handled below)
        if (version <= 6 && bits == 64)
        {
            b.RemoveRange(b.Count - 16, 16);
            Be(0x2000, 4); Be(0x3000, 4);
        }

        Long(0x80000011); Long(0xDEAD); Long(0x9000); Long(0x20);   // cr0, cr2, cr3, cr4
        for (int i = 0; i < 8; i++)
        {
            Long(i == 7 ? 0x400UL : 0);
        }

        Be(0xFFFFFFFF, 4); Be(0x1F80, 4);           // a20 mask, mxcsr
        for (int i = 0; i < nregs * 16; i++)
        {
            b.Add(0);
        }

        if (bits == 64)
        {
            Be(0x500, 8); Be(1, 8); Be(2, 8); Be(3, 8); Be(4, 8); Be(5, 8);   // efer (LME|LMA), star, ...
        }

        Be(0x30000, 4);                             // smbase
        if (version >= 5)
        {
            Be(0x0007040600070406, 8); Be(1, 4);
            if (version < 6)
            {
                Be(1, 4);                           // halted
            }

            for (int i = 0; i < 4; i++)
            {
                Be(0, 8);
            }

            for (int i = 0; i < 4; i++)
            {
                Be(0, 2);
            }

            Be(0, 4); b.Add(0);
        }

        if (version >= 8)
        {
            for (int i = 0; i < 11 + 1 + 16; i++)
            {
                Be(0, 8);
            }
        }

        if (version >= 9)
        {
            Be(0xFFFFFFFF, 4); Be(0, 4); Be(0x123456789, 8);   // no pending irq, mp_state, tsc
        }

        b.Add(0);                                   // EOF
        return b.ToArray();
    }

    [Theory]
    [InlineData(4, 64)]
    [InlineData(5, 32)]
    [InlineData(7, 64)]
    [InlineData(9, 64)]
    [InlineData(9, 32)]
    public void LegacyCpuSectionsGiveTheirRegisters(int version, int bits)
    {
        using QemuImage image = QemuImage.Open(new MemoryStream(Stream(version, bits)));
        var sections = new List<QemuSection>();
        while (image.Reader.ReadNext() is QemuSection s)
        {
            sections.Add(s);
        }

        Assert.True(image.Reader.IsComplete, image.Reader.StopReason);
        QemuSection cpuSection = sections.Single(s => s.IdStr == "cpu");
        Assert.Equal(QemuDecodeSource.BuiltIn, cpuSection.DecodedFrom);
        QemuCpuState cpu = QemuCpuState.FromSections(sections).Single();
        Assert.Equal(0x100UL, cpu.Rax);
        Assert.Equal(0x103UL, cpu.Rbx);
        Assert.Equal(0x104UL, cpu.Rsp);
        Assert.Equal(bits == 64 ? 0x10FUL : 0UL, cpu.R15);
        Assert.Equal(0xFFF0UL, cpu.Rip);
        Assert.Equal(0x9000UL, cpu.Cr3);
        Assert.Equal(0x10UL, cpu.Cs!.Selector);
        Assert.Equal(0x1000UL, cpu.Cs.Base);
        Assert.Equal(0x9000UL, cpu.Idt!.Base);
        Assert.Equal(3, cpu.Cpl);
        Assert.True(cpu.A20);
        Assert.Equal(bits == 64 ? "Long" : "Protected", cpu.Mode);
        Assert.Equal(version >= 9 ? 0x123456789UL : 0, cpu.Tsc);
    }
}
