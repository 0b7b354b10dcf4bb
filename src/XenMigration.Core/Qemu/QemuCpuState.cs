using System;
using System.Collections.Generic;
using XenMigration.X86;

namespace XenMigration.Qemu
{
    /// <summary>
    /// One vCPU's registers from a QEMU stream: the <c>cpu</c> section (x86 VMState version 12, as
    /// QEMU 7.2 saves it), with <c>cpu_common</c>'s halted flag and the <c>apic</c>'s base of the same
    /// instance. Register names as in QEMU's <c>info registers</c> and crash.
    /// </summary>
    public sealed class QemuCpuState
    {
        private QemuCpuState(string? filePath, uint index, uint version, long offset)
        {
            FilePath = filePath;
            Index = index;
            Version = version;
            Offset = offset;
        }

        /// <summary>The file the stream was read from.</summary>
        public string? FilePath { get; }

        /// <summary>The vCPU (the cpu section's instance id).</summary>
        public uint Index { get; }

        /// <summary>The cpu section's version.</summary>
        public uint Version { get; }

        /// <summary>Offset of the cpu section in the input.</summary>
        public long Offset { get; }

        /// <summary>RAX.</summary>
        public ulong Rax { get; private set; }
        /// <summary>RCX.</summary>
        public ulong Rcx { get; private set; }
        /// <summary>RDX.</summary>
        public ulong Rdx { get; private set; }
        /// <summary>RBX.</summary>
        public ulong Rbx { get; private set; }
        /// <summary>RSP.</summary>
        public ulong Rsp { get; private set; }
        /// <summary>RBP.</summary>
        public ulong Rbp { get; private set; }
        /// <summary>RSI.</summary>
        public ulong Rsi { get; private set; }
        /// <summary>RDI.</summary>
        public ulong Rdi { get; private set; }
        /// <summary>R8.</summary>
        public ulong R8 { get; private set; }
        /// <summary>R9.</summary>
        public ulong R9 { get; private set; }
        /// <summary>R10.</summary>
        public ulong R10 { get; private set; }
        /// <summary>R11.</summary>
        public ulong R11 { get; private set; }
        /// <summary>R12.</summary>
        public ulong R12 { get; private set; }
        /// <summary>R13.</summary>
        public ulong R13 { get; private set; }
        /// <summary>R14.</summary>
        public ulong R14 { get; private set; }
        /// <summary>R15.</summary>
        public ulong R15 { get; private set; }
        /// <summary>RIP (QEMU's env.eip).</summary>
        public ulong Rip { get; private set; }
        /// <summary>RFLAGS.</summary>
        public ulong Rflags { get; private set; }
        /// <summary>CR0.</summary>
        public ulong Cr0 { get; private set; }
        /// <summary>CR2.</summary>
        public ulong Cr2 { get; private set; }
        /// <summary>CR3.</summary>
        public ulong Cr3 { get; private set; }
        /// <summary>CR4.</summary>
        public ulong Cr4 { get; private set; }
        /// <summary>EFER.</summary>
        public ulong Efer { get; private set; }
        /// <summary>CS.</summary>
        public X86Segment? Cs { get; private set; }
        /// <summary>DS.</summary>
        public X86Segment? Ds { get; private set; }
        /// <summary>ES.</summary>
        public X86Segment? Es { get; private set; }
        /// <summary>FS.</summary>
        public X86Segment? Fs { get; private set; }
        /// <summary>GS.</summary>
        public X86Segment? Gs { get; private set; }
        /// <summary>SS.</summary>
        public X86Segment? Ss { get; private set; }
        /// <summary>LDTR.</summary>
        public X86Segment? Ldt { get; private set; }
        /// <summary>TR.</summary>
        public X86Segment? Tr { get; private set; }
        /// <summary>GDTR (base, limit).</summary>
        public X86Segment? Gdt { get; private set; }
        /// <summary>IDTR (base, limit).</summary>
        public X86Segment? Idt { get; private set; }
        /// <summary>DR6.</summary>
        public ulong Dr6 { get; private set; }
        /// <summary>DR7.</summary>
        public ulong Dr7 { get; private set; }
        /// <summary>IA32_SYSENTER_CS.</summary>
        public ulong SysenterCs { get; private set; }
        /// <summary>IA32_SYSENTER_ESP.</summary>
        public ulong SysenterEsp { get; private set; }
        /// <summary>IA32_SYSENTER_EIP.</summary>
        public ulong SysenterEip { get; private set; }
        /// <summary>STAR.</summary>
        public ulong Star { get; private set; }
        /// <summary>LSTAR.</summary>
        public ulong Lstar { get; private set; }
        /// <summary>CSTAR.</summary>
        public ulong Cstar { get; private set; }
        /// <summary>FMASK (SFMASK).</summary>
        public ulong Fmask { get; private set; }
        /// <summary>KERNEL_GS_BASE.</summary>
        public ulong KernelGsBase { get; private set; }
        /// <summary>IA32_PAT.</summary>
        public ulong Pat { get; private set; }
        /// <summary>The TSC.</summary>
        public ulong Tsc { get; private set; }
        /// <summary>XCR0.</summary>
        public ulong Xcr0 { get; private set; }
        /// <summary>QEMU's hflags (CPL in bits 0-1, long mode, ...).</summary>
        public ulong Hflags { get; private set; }
        /// <summary>The A20 mask: all ones when the A20 line is enabled.</summary>
        public long A20Mask { get; private set; }
        /// <summary>True when A20 is enabled.</summary>
        public bool A20 => (A20Mask & (1 << 20)) != 0;
        /// <summary>Current privilege level (hflags bits 0-1).</summary>
        public int Cpl => (int)(Hflags & 3);
        /// <summary>True when the vCPU was halted (cpu_common); null without that section.</summary>
        public bool? Halted { get; private set; }
        /// <summary>IA32_APIC_BASE (the apic section); null without it.</summary>
        public ulong? ApicBase { get; private set; }

        /// <summary>Real, Protected, or Long (from CR0.PE and EFER.LMA).</summary>
        public string Mode => Registers.Mode;

        /// <summary>The vCPU (the cpu section's instance id).</summary>
        public uint Vcpu => Index;

        /// <summary>The architectural registers, in the type every source of vCPU state shares.</summary>
        public X86Registers Registers { get; private set; } = new X86Registers();

        /// <summary>Whether a section carries vCPU state (<c>cpu</c>, <c>cpu_common</c>, <c>apic</c>): the ones <see cref="FromSections"/> uses.</summary>
        public static bool IsCpuSection(QemuSection section) =>
            section is { IdStr: "cpu" or "cpu_common" or "apic" };

        /// <summary>
        /// The vCPUs of a stream's sections, in instance order. Sections without decoded fields are
        /// passed over (<c>cpu</c> sections are decoded from the description or the built-in table).
        /// </summary>
        public static IReadOnlyList<QemuCpuState> FromSections(IEnumerable<QemuSection> sections)
        {
            if (sections is null)
            {
                throw new ArgumentNullException(nameof(sections));
            }

            var cpus = new SortedDictionary<uint, QemuCpuState>();
            var halted = new Dictionary<uint, bool>();
            var apic = new Dictionary<uint, ulong>();
            foreach (QemuSection s in sections)
            {
                if (s.State is null)
                {
                    continue;
                }

                switch (s.IdStr)
                {
                    case "cpu":
                        cpus[s.InstanceId] = FromCpu(s);
                        break;
                    case "cpu_common" when s.GetValue("halted") is ulong h:
                        halted[s.InstanceId] = h != 0;
                        break;
                    case "apic" when s.GetValue("apicbase") is ulong b:
                        apic[s.InstanceId] = b;
                        break;
                }
            }

            var result = new List<QemuCpuState>(cpus.Count);
            foreach (KeyValuePair<uint, QemuCpuState> pair in cpus)
            {
                if (halted.TryGetValue(pair.Key, out bool h))
                {
                    pair.Value.Halted = h;
                }

                if (apic.TryGetValue(pair.Key, out ulong b))
                {
                    pair.Value.ApicBase = b;
                }

                result.Add(pair.Value);
            }

            return result;
        }

        private static QemuCpuState FromCpu(QemuSection s)
        {
            QemuVmState state = s.State!;
            var c = new QemuCpuState(s.FilePath, s.InstanceId, s.VersionId, s.Offset);
            ulong[] regs = Array(state, "env.regs", 16);
            c.Rax = regs[0];
            c.Rcx = regs[1];
            c.Rdx = regs[2];
            c.Rbx = regs[3];
            c.Rsp = regs[4];
            c.Rbp = regs[5];
            c.Rsi = regs[6];
            c.Rdi = regs[7];
            c.R8 = regs[8];
            c.R9 = regs[9];
            c.R10 = regs[10];
            c.R11 = regs[11];
            c.R12 = regs[12];
            c.R13 = regs[13];
            c.R14 = regs[14];
            c.R15 = regs[15];
            c.Rip = U(state, "env.eip");
            c.Rflags = U(state, "env.eflags");
            c.Hflags = U(state, "env.hflags");
            c.Cr0 = U(state, "env.cr[0]");
            c.Cr2 = U(state, "env.cr[2]");
            c.Cr3 = U(state, "env.cr[3]");
            c.Cr4 = U(state, "env.cr[4]");
            c.Efer = U(state, "env.efer");
            ulong[] dr = Array(state, "env.dr", 8);
            c.Dr6 = dr[6];
            c.Dr7 = dr[7];
            c.SysenterCs = U(state, "env.sysenter_cs");
            c.SysenterEsp = U(state, "env.sysenter_esp");
            c.SysenterEip = U(state, "env.sysenter_eip");
            c.Star = U(state, "env.star");
            c.Lstar = U(state, "env.lstar");
            c.Cstar = U(state, "env.cstar");
            c.Fmask = U(state, "env.fmask");
            c.KernelGsBase = U(state, "env.kernelgsbase");
            c.Pat = U(state, "env.pat");
            c.Tsc = U(state, "env.tsc");
            c.Xcr0 = U(state, "env.xcr0");
            c.A20Mask = state.GetValue("env.a20_mask") is long a20 ? a20 : -1;

            // QEMU's segment order: ES, CS, SS, DS, FS, GS.
            var segs = new List<X86Segment?>();
            foreach (QemuField f in state.Fields)
            {
                if (f.Name == "env.segs")
                {
                    segs.Add(Segment(f));
                }
            }

            if (segs.Count == 6)
            {
                c.Es = segs[0];
                c.Cs = segs[1];
                c.Ss = segs[2];
                c.Ds = segs[3];
                c.Fs = segs[4];
                c.Gs = segs[5];
            }

            c.Ldt = Segment(Field(state, "env.ldt"));
            c.Tr = Segment(Field(state, "env.tr"));
            c.Gdt = Segment(Field(state, "env.gdt"));
            c.Idt = Segment(Field(state, "env.idt"));
            c.Registers = new X86Registers
            {
                Vcpu = c.Index,
                Rax = c.Rax, Rbx = c.Rbx, Rcx = c.Rcx, Rdx = c.Rdx, Rsi = c.Rsi, Rdi = c.Rdi, Rbp = c.Rbp, Rsp = c.Rsp,
                R8 = c.R8, R9 = c.R9, R10 = c.R10, R11 = c.R11, R12 = c.R12, R13 = c.R13, R14 = c.R14, R15 = c.R15,
                Rip = c.Rip, Rflags = c.Rflags, Cr0 = c.Cr0, Cr2 = c.Cr2, Cr3 = c.Cr3, Cr4 = c.Cr4, Efer = c.Efer, Dr6 = c.Dr6, Dr7 = c.Dr7,
                Cs = c.Cs, Ds = c.Ds, Es = c.Es, Fs = c.Fs, Gs = c.Gs, Ss = c.Ss, Tr = c.Tr, Ldtr = c.Ldt, Gdtr = c.Gdt, Idtr = c.Idt,
                FsBase = c.Fs?.Base ?? 0, GsBase = c.Gs?.Base ?? 0, KernelGsBase = c.KernelGsBase,
                Is64Bit = (c.Efer & 0x400) != 0,
                Mode = X86Registers.ModeOf(c.Cr0, c.Efer),
            };
            return c;
        }

        private static QemuField? Field(QemuVmState state, string name)
        {
            foreach (QemuField f in state.Fields)
            {
                if (f.Name == name)
                {
                    return f;
                }
            }

            return null;
        }

        private static X86Segment? Segment(QemuField? f)
        {
            if (f?.Struct is not QemuVmState s)
            {
                return null;
            }

            return new X86Segment((uint)U(s, "selector"), U(s, "base"), (uint)U(s, "limit"), (uint)U(s, "flags"));
        }

        private static ulong U(QemuVmState s, string name) => s.GetValue(name) switch
        {
            ulong u => u,
            long l => unchecked((ulong)l),
            _ => 0,
        };

        private static ulong[] Array(QemuVmState s, string name, int count)
        {
            ulong[] result = new ulong[count];
            if (s.GetValue(name) is object?[] values)
            {
                for (int i = 0; i < Math.Min(count, values.Length); i++)
                {
                    result[i] = values[i] is ulong u ? u : 0;
                }
            }

            return result;
        }
    }
}
