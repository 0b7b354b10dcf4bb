using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.X86;

namespace XenMigration.HvmContext
{
    /// <summary>CPU (2): a vCPU's registers (the 1032-byte layout; the 1016-byte compat layout is read too).</summary>
    public sealed class HvmCpuEntry : HvmContextEntry
    {
        internal HvmCpuEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            IsCompatLayout = s.Length == 1016;
            Fcw = f.U16At(0);
            Fsw = f.U16At(2);
            Mxcsr = f.U32At(24);
            f.Skip(512);
            Rax = f.U64(); Rbx = f.U64(); Rcx = f.U64(); Rdx = f.U64(); Rbp = f.U64(); Rsi = f.U64(); Rdi = f.U64(); Rsp = f.U64();
            R8 = f.U64(); R9 = f.U64(); R10 = f.U64(); R11 = f.U64(); R12 = f.U64(); R13 = f.U64(); R14 = f.U64(); R15 = f.U64();
            Rip = f.U64();
            Rflags = f.U64();
            Cr0 = f.U64(); Cr2 = f.U64(); Cr3 = f.U64(); Cr4 = f.U64();
            Dr0 = f.U64(); Dr1 = f.U64(); Dr2 = f.U64(); Dr3 = f.U64(); Dr6 = f.U64(); Dr7 = f.U64();
            uint[] sel = f.U32s(8);
            uint[] lim = f.U32s(10);
            ulong[] bas = f.U64s(10);
            uint[] ar = f.U32s(8);
            X86Segment Seg(int i) => new X86Segment(sel[i], bas[i], lim[i], ar[i]);
            Cs = Seg(0); Ds = Seg(1); Es = Seg(2); Fs = Seg(3); Gs = Seg(4); Ss = Seg(5); Tr = Seg(6); Ldtr = Seg(7);
            Idtr = new X86Segment(0, bas[8], lim[8], 0);
            Gdtr = new X86Segment(0, bas[9], lim[9], 0);
            SysenterCs = f.U64(); SysenterEsp = f.U64(); SysenterEip = f.U64();
            ShadowGs = f.U64();
            MsrFlags = f.U64();
            MsrLstar = f.U64(); MsrStar = f.U64(); MsrCstar = f.U64(); MsrSyscallMask = f.U64(); MsrEfer = f.U64();
            if (IsCompatLayout)
            {
                Tsc = f.U64();
                PendingEvent = f.U32();
                ErrorCode = f.U32();
                FpuInitialised = true;   // what the loader assumes for the old layout
            }
            else
            {
                MsrTscAux = f.U64();
                Tsc = f.U64();
                PendingEvent = f.U32();
                ErrorCode = f.U32();
                Flags = f.U32();
                FpuInitialised = (Flags & 1) != 0;
            }

            Registers = new X86Registers
            {
                Vcpu = s.Instance,
                Rax = Rax, Rbx = Rbx, Rcx = Rcx, Rdx = Rdx, Rsi = Rsi, Rdi = Rdi, Rbp = Rbp, Rsp = Rsp,
                R8 = R8, R9 = R9, R10 = R10, R11 = R11, R12 = R12, R13 = R13, R14 = R14, R15 = R15,
                Rip = Rip, Rflags = Rflags, Cr0 = Cr0, Cr2 = Cr2, Cr3 = Cr3, Cr4 = Cr4, Efer = MsrEfer, Dr6 = Dr6, Dr7 = Dr7,
                Cs = Cs, Ds = Ds, Es = Es, Fs = Fs, Gs = Gs, Ss = Ss, Tr = Tr, Ldtr = Ldtr, Gdtr = Gdtr, Idtr = Idtr,
                FsBase = Fs.Base, GsBase = Gs.Base, KernelGsBase = ShadowGs,
                Is64Bit = (MsrEfer & 0x400) != 0,
                Mode = X86Registers.ModeOf(Cr0, MsrEfer),
            };
        }

        /// <summary>The vCPU (the entry's instance).</summary>
        public uint Vcpu => Instance;

        /// <summary>The architectural registers, in the type every source of vCPU state shares.</summary>
        public X86Registers Registers { get; }

        /// <summary>True for the pre-Xen-3.4 1016-byte layout (no TSC_AUX, no flags).</summary>
        public bool IsCompatLayout { get; }
#pragma warning disable CS1591 // register names are their documentation
        public ushort Fcw { get; }
        public ushort Fsw { get; }
        public uint Mxcsr { get; }
        public ulong Rax { get; set; }
        public ulong Rbx { get; set; }
        public ulong Rcx { get; set; }
        public ulong Rdx { get; set; }
        public ulong Rbp { get; set; }
        public ulong Rsi { get; set; }
        public ulong Rdi { get; set; }
        public ulong Rsp { get; set; }
        public ulong R8 { get; set; }
        public ulong R9 { get; set; }
        public ulong R10 { get; set; }
        public ulong R11 { get; set; }
        public ulong R12 { get; set; }
        public ulong R13 { get; set; }
        public ulong R14 { get; set; }
        public ulong R15 { get; set; }
        public ulong Rip { get; set; }
        public ulong Rflags { get; set; }
        public ulong Cr0 { get; set; }
        public ulong Cr2 { get; set; }
        public ulong Cr3 { get; set; }
        public ulong Cr4 { get; set; }
        public ulong Dr0 { get; set; }
        public ulong Dr1 { get; set; }
        public ulong Dr2 { get; set; }
        public ulong Dr3 { get; set; }
        public ulong Dr6 { get; set; }
        public ulong Dr7 { get; set; }
        public X86Segment Cs { get; }
        public X86Segment Ds { get; }
        public X86Segment Es { get; }
        public X86Segment Fs { get; }
        public X86Segment Gs { get; }
        public X86Segment Ss { get; }
        public X86Segment Tr { get; }
        public X86Segment Ldtr { get; }
        public X86Segment Idtr { get; }
        public X86Segment Gdtr { get; }
        public ulong SysenterCs { get; set; }
        public ulong SysenterEsp { get; set; }
        public ulong SysenterEip { get; set; }
        public ulong ShadowGs { get; set; }
        public ulong MsrFlags { get; set; }
        public ulong MsrLstar { get; set; }
        public ulong MsrStar { get; set; }
        public ulong MsrCstar { get; set; }
        public ulong MsrSyscallMask { get; set; }
        public ulong MsrEfer { get; set; }
        public ulong MsrTscAux { get; set; }
        public ulong Tsc { get; set; }
        public uint ErrorCode { get; }
        public uint Flags { get; }
#pragma warning restore CS1591
        /// <summary>The event pending injection: bits 0-7 vector, 8-10 type, 11 error code valid, 31 valid.</summary>
        public uint PendingEvent { get; }
        /// <summary>True when <see cref="PendingEvent"/> holds an event.</summary>
        public bool PendingValid => (PendingEvent & 0x80000000) != 0;
        /// <summary>Vector of the pending event.</summary>
        public byte PendingVector => unchecked((byte)PendingEvent);
        /// <summary>Type of the pending event (0 external interrupt, 2 NMI, 3 hardware exception, 4 software interrupt, ...).</summary>
        public int PendingType => (int)((PendingEvent >> 8) & 7);
        /// <summary>True when the pending event carries <see cref="ErrorCode"/>.</summary>
        public bool PendingErrorCodeValid => (PendingEvent & 0x800) != 0;
        /// <summary>Flags bit 0: the FPU state is initialised.</summary>
        public bool FpuInitialised { get; }
        /// <summary>Real, Protected, or Long (CR0.PE, EFER.LMA).</summary>
        public string Mode => Registers.Mode;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} mode, rip {1}, rsp {2}, cr3 {3}{4}", Mode, Hex(Rip), Hex(Rsp), Hex(Cr3), PendingValid ? ", event pending" : string.Empty);

        // struct hvm_hw_cpu: the general registers from byte 512, the MSRs after the segments.
        // Settable values are written back; Registers keeps the values decoded.
        internal override bool WriteTo(System.Span<byte> p)
        {
            int tail = IsCompatLayout ? 1016 : 1032;
            if (p.Length < tail)
            {
                return false;
            }

            ulong[] regs = { Rax, Rbx, Rcx, Rdx, Rbp, Rsi, Rdi, Rsp, R8, R9, R10, R11, R12, R13, R14, R15, Rip, Rflags, Cr0, Cr2, Cr3, Cr4, Dr0, Dr1, Dr2, Dr3, Dr6, Dr7 };
            for (int i = 0; i < regs.Length; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(512 + (8 * i)), regs[i]);
            }

            ulong[] msrs = { SysenterCs, SysenterEsp, SysenterEip, ShadowGs, MsrFlags, MsrLstar, MsrStar, MsrCstar, MsrSyscallMask, MsrEfer };
            for (int i = 0; i < msrs.Length; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(920 + (8 * i)), msrs[i]);
            }

            if (IsCompatLayout)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(1000), Tsc);
            }
            else
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(1000), MsrTscAux);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(1008), Tsc);
            }

            return true;
        }
    }

    /// <summary>LAPIC (5): a vCPU's local APIC state besides its registers.</summary>
    public sealed class HvmLapicEntry : HvmContextEntry
    {
        internal HvmLapicEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            ApicBaseMsr = f.U64();
            Disabled = f.U32();
            TimerDivisor = f.U32();
            TdtMsr = f.U64();
            PendingEsr = f.U32();
        }

        /// <summary>IA32_APIC_BASE.</summary>
        public ulong ApicBaseMsr { get; set; }
        /// <summary>The APIC's physical base address.</summary>
        public ulong BaseAddress => ApicBaseMsr & ~0xFFFUL;
        /// <summary>The BSP flag (bit 8).</summary>
        public bool Bsp => (ApicBaseMsr & 0x100) != 0;
        /// <summary>x2APIC mode (EXTD, bit 10).</summary>
        public bool X2Apic => (ApicBaseMsr & 0x400) != 0;
        /// <summary>Globally enabled (EN, bit 11).</summary>
        public bool Enabled => (ApicBaseMsr & 0x800) != 0;
        /// <summary>Bit 0 hardware-disabled, bit 1 software-disabled.</summary>
        public uint Disabled { get; set; }
        /// <summary>Timer divisor.</summary>
        public uint TimerDivisor { get; set; }
        /// <summary>IA32_TSC_DEADLINE.</summary>
        public ulong TdtMsr { get; set; }
        /// <summary>Pending error status.</summary>
        public uint PendingEsr { get; set; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "base {0}{1}{2}{3}", Hex(BaseAddress), Enabled ? ", enabled" : ", disabled", X2Apic ? ", x2APIC" : string.Empty, Bsp ? ", BSP" : string.Empty);
        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U64(p, 0, ApicBaseMsr);
            EntryFields.U32(p, 8, Disabled);
            EntryFields.U32(p, 12, TimerDivisor);
            EntryFields.U64(p, 16, TdtMsr);
            EntryFields.U32(p, 24, PendingEsr);
            return true;
        }
    }

    /// <summary>A register of the local APIC page.</summary>
    public sealed class HvmApicRegister
    {
        internal HvmApicRegister(string name, int offset, uint value) { Name = name; Offset = offset; Value = value; }

        /// <summary>Register name (ID, TPR, SVR, ISR0..ISR7, LVT_TIMER, ...).</summary>
        public string Name { get; }
        /// <summary>MMIO offset.</summary>
        public int Offset { get; }
        /// <summary>Value.</summary>
        public uint Value { get; set; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}=0x{1:x8}", Name, Value);
    }

    /// <summary>LAPIC_REGS (6): the local APIC register page, by register name.</summary>
    public sealed class HvmLapicRegsEntry : HvmContextEntry
    {
        private static readonly (int Offset, string Name)[] s_registers =
        {
            (0x20, "ID"), (0x30, "VERSION"), (0x80, "TPR"), (0x90, "APR"), (0xA0, "PPR"), (0xB0, "EOI"), (0xC0, "RRD"),
            (0xD0, "LDR"), (0xE0, "DFR"), (0xF0, "SVR"),
            (0x100, "ISR0"), (0x110, "ISR1"), (0x120, "ISR2"), (0x130, "ISR3"), (0x140, "ISR4"), (0x150, "ISR5"), (0x160, "ISR6"), (0x170, "ISR7"),
            (0x180, "TMR0"), (0x190, "TMR1"), (0x1A0, "TMR2"), (0x1B0, "TMR3"), (0x1C0, "TMR4"), (0x1D0, "TMR5"), (0x1E0, "TMR6"), (0x1F0, "TMR7"),
            (0x200, "IRR0"), (0x210, "IRR1"), (0x220, "IRR2"), (0x230, "IRR3"), (0x240, "IRR4"), (0x250, "IRR5"), (0x260, "IRR6"), (0x270, "IRR7"),
            (0x280, "ESR"), (0x2F0, "LVT_CMCI"), (0x300, "ICR_LOW"), (0x310, "ICR_HIGH"), (0x320, "LVT_TIMER"), (0x330, "LVT_THERMAL"),
            (0x340, "LVT_PMC"), (0x350, "LVT_LINT0"), (0x360, "LVT_LINT1"), (0x370, "LVT_ERROR"), (0x380, "TIMER_INITIAL_COUNT"),
            (0x390, "TIMER_CURRENT_COUNT"), (0x3E0, "TIMER_DIVIDE_CONFIG"),
        };

        internal HvmLapicRegsEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            var regs = new List<HvmApicRegister>(s_registers.Length);
            foreach ((int offset, string name) in s_registers)
            {
                regs.Add(new HvmApicRegister(name, offset, f.U32At(offset)));
            }

            Registers = ReadOnlyView.Of(regs);
            InService = ReadOnlyView.Of(Vectors(f, 0x100));
            Requested = ReadOnlyView.Of(Vectors(f, 0x200));
            LevelTriggered = ReadOnlyView.Of(Vectors(f, 0x180));
        }

        /// <summary>The architectural registers, in MMIO order.</summary>
        public IReadOnlyList<HvmApicRegister> Registers { get; }
        /// <summary>Vectors in service (ISR bits set).</summary>
        public IReadOnlyList<int> InService { get; }
        /// <summary>Vectors requested (IRR bits set): interrupts pending delivery.</summary>
        public IReadOnlyList<int> Requested { get; }
        /// <summary>Vectors accepted as level-triggered (TMR bits set).</summary>
        public IReadOnlyList<int> LevelTriggered { get; }

        /// <summary>A register's value by name.</summary>
        public uint this[string name]
        {
            get
            {
                foreach (HvmApicRegister r in Registers)
                {
                    if (string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
                    {
                        return r.Value;
                    }
                }

                throw new KeyNotFoundException("No local APIC register '" + name + "'.");
            }
        }

        private static int[] Vectors(SpanReader f, int offset)
        {
            var v = new List<int>();
            for (int word = 0; word < 8; word++)
            {
                uint bits = f.U32At(offset + (word * 0x10));
                for (int b = 0; b < 32; b++)
                {
                    if ((bits & (1u << b)) != 0)
                    {
                        v.Add((word * 32) + b);
                    }
                }
            }

            return v.ToArray();
        }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "id 0x{0:x}, tpr 0x{1:x}, svr 0x{2:x}, {3} requested, {4} in service", this["ID"] >> 24, this["TPR"], this["SVR"], Requested.Count, InService.Count);

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            // The registers at their MMIO offsets; the ISR/IRR/TMR vector lists are views of those registers.
            foreach (HvmApicRegister r in Registers)
            {
                EntryFields.U32(p, r.Offset, r.Value);
            }

            return true;
        }
    }

    /// <summary>A variable MTRR (base/mask pair).</summary>
    public sealed class HvmMtrrRange
    {
        internal HvmMtrrRange(int index, ulong @base, ulong mask) { Index = index; Base = @base; Mask = mask; }
#pragma warning disable CS1591
        public int Index { get; }
        public ulong Base { get; set; }
        public ulong Mask { get; set; }
#pragma warning restore CS1591
        /// <summary>Mask bit 11: the range is in use.</summary>
        public bool Valid => (Mask & 0x800) != 0;
        /// <summary>Memory type (base bits 0-7: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB).</summary>
        public int Type => (int)(Base & 0xFF);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "MTRR{0}: base 0x{1:x} mask 0x{2:x}{3}", Index, Base, Mask, Valid ? string.Empty : " (unused)");
    }

    /// <summary>MTRR (14): a vCPU's PAT and MTRRs.</summary>
    public sealed class HvmMtrrEntry : HvmContextEntry
    {
        internal HvmMtrrEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            Pat = f.U64();
            var ranges = new List<HvmMtrrRange>(8);
            for (int i = 0; i < 8; i++)
            {
                ranges.Add(new HvmMtrrRange(i, f.U64(), f.U64()));
            }

            Variable = ReadOnlyView.Of(ranges);
            Fixed = ReadOnlyView.Of(f.U64s(11));
            Capability = f.U64();
            DefType = f.U64();
        }

        /// <summary>IA32_PAT.</summary>
        public ulong Pat { get; set; }
        /// <summary>The 8 variable ranges.</summary>
        public IReadOnlyList<HvmMtrrRange> Variable { get; }
        /// <summary>The 11 fixed-range MTRRs.</summary>
        public IReadOnlyList<ulong> Fixed { get; }
        /// <summary>IA32_MTRRCAP.</summary>
        public ulong Capability { get; set; }
        /// <summary>Variable ranges supported (MTRRCAP bits 0-7).</summary>
        public int VariableCount => (int)(Capability & 0xFF);
        /// <summary>IA32_MTRR_DEF_TYPE.</summary>
        public ulong DefType { get; set; }
        /// <summary>MTRRs enabled (DEF_TYPE bit 11).</summary>
        public bool Enabled => (DefType & 0x800) != 0;
        /// <summary>Fixed ranges enabled (DEF_TYPE bit 10).</summary>
        public bool FixedEnabled => (DefType & 0x400) != 0;
        /// <summary>Default memory type (DEF_TYPE bits 0-7).</summary>
        public int DefaultType => (int)(DefType & 0xFF);

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "pat {0}, {1}, default type {2}", Hex(Pat), Enabled ? "enabled" : "disabled", DefaultType);

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            // struct hvm_hw_mtrr: PAT, 8 base/mask pairs, 11 fixed (read-only here), MTRRCAP, DEF_TYPE.
            EntryFields.U64(p, 0, Pat);
            foreach (HvmMtrrRange r in Variable)
            {
                EntryFields.U64(p, 8 + (16 * r.Index), r.Base);
                EntryFields.U64(p, 16 + (16 * r.Index), r.Mask);
            }

            EntryFields.U64(p, 224, Capability);
            EntryFields.U64(p, 232, DefType);
            return true;
        }
    }

    /// <summary>CPU_XSAVE (16): a vCPU's XCR0 and XSAVE area header.</summary>
    public sealed class HvmCpuXsaveEntry : HvmContextEntry
    {
        internal HvmCpuXsaveEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            if (s.Length == 0)
            {
                IsEmpty = true;
                Components = Array.Empty<X86XsaveComponent>();
                return;
            }

            XfeatureMask = f.U64();
            Xcr0 = f.U64();
            Xcr0Accum = f.U64();
            XstateBv = f.U64At(24 + 512);
            XcompBv = f.U64At(24 + 512 + 8);
            Components = ReadOnlyView.Of(X86Xsave.Components(Xcr0, Xcr0Accum, XstateBv));
        }

        /// <summary>True for an empty entry (written by Xen before 4.12).</summary>
        public bool IsEmpty { get; }
        /// <summary>Ignored by the loader.</summary>
        public ulong XfeatureMask { get; }
        /// <summary>XCR0.</summary>
        public ulong Xcr0 { get; }
        /// <summary>Every XCR0 bit the vCPU has used.</summary>
        public ulong Xcr0Accum { get; }
        /// <summary>The XSAVE header's XSTATE_BV.</summary>
        public ulong XstateBv { get; }
        /// <summary>The XSAVE header's XCOMP_BV (bit 63: compacted format, which Xen refuses).</summary>
        public ulong XcompBv { get; }
        /// <summary>Bit 63 of XCOMP_BV.</summary>
        public bool Compacted => (XcompBv & 0x8000000000000000UL) != 0;
        /// <summary>The components of XCR0 | XCR0_ACCUM.</summary>
        public IReadOnlyList<X86XsaveComponent> Components { get; }

        /// <inheritdoc/>
        public override string Summary => IsEmpty ? "empty" : string.Format(CultureInfo.InvariantCulture, "xcr0 {0}: {1}", Hex(Xcr0), string.Join(", ", Components));
    }

    /// <summary>VIRIDIAN_VCPU (17): a vCPU's Hyper-V enlightenment state.</summary>
    public sealed class HvmViridianVcpuEntry : HvmContextEntry
    {
        internal HvmViridianVcpuEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            VpAssistMsr = f.U64();
            ApicAssistPending = f.U8() != 0;
            f.Skip(7);
            SimpMsr = f.U64();
            SintMsr = ReadOnlyView.Of(f.U64s(16));
            StimerConfigMsr = ReadOnlyView.Of(f.U64s(4));
            StimerCountMsr = ReadOnlyView.Of(f.U64s(4));
        }
#pragma warning disable CS1591
        public ulong VpAssistMsr { get; set; }
        public bool ApicAssistPending { get; }
        public ulong SimpMsr { get; set; }
        public IReadOnlyList<ulong> SintMsr { get; }
        public IReadOnlyList<ulong> StimerConfigMsr { get; }
        public IReadOnlyList<ulong> StimerCountMsr { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "vp_assist {0}, simp {1}", Hex(VpAssistMsr), Hex(SimpMsr));

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            // The SINT and synthetic-timer arrays are read-only here.
            EntryFields.U64(p, 0, VpAssistMsr);
            EntryFields.U64(p, 16, SimpMsr);
            return true;
        }
    }

    /// <summary>VMCE_VCPU (18): a vCPU's virtual machine-check state.</summary>
    public sealed class HvmVmceVcpuEntry : HvmContextEntry
    {
        internal HvmVmceVcpuEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            Caps = f.U64(); MciCtl2Bank0 = f.U64(); MciCtl2Bank1 = f.U64(); McgExtCtl = f.U64();
        }
#pragma warning disable CS1591
        public ulong Caps { get; set; }
        public ulong MciCtl2Bank0 { get; set; }
        public ulong MciCtl2Bank1 { get; set; }
        public ulong McgExtCtl { get; set; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => "mcg_cap " + Hex(Caps);
        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U64(p, 0, Caps);
            EntryFields.U64(p, 8, MciCtl2Bank0);
            EntryFields.U64(p, 16, MciCtl2Bank1);
            EntryFields.U64(p, 24, McgExtCtl);
            return true;
        }
    }

    /// <summary>TSC_ADJUST (19).</summary>
    public sealed class HvmTscAdjustEntry : HvmContextEntry
    {
        internal HvmTscAdjustEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s) => TscAdjust = f.U64();

        /// <summary>IA32_TSC_ADJUST.</summary>
        public ulong TscAdjust { get; set; }

        /// <inheritdoc/>
        public override string Summary => "tsc_adjust " + Hex(TscAdjust);
        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U64(p, 0, TscAdjust);
            return true;
        }
    }

    /// <summary>CPU_MSR (20): a vCPU's MSRs.</summary>
    public sealed class HvmCpuMsrEntry : HvmContextEntry
    {
        internal HvmCpuMsrEntry(in HvmEntrySource s, ref SpanReader f, uint count)
            : base(s)
        {
            Count = f.U32();
            f.Skip(4);
            // The decoder keeps the first MaxRetainedEntries MSRs of a longer entry.
            int kept = (int)Math.Min(count, (uint)(f.Remaining / 16));
            var msrs = new List<X86Msr>(kept);
            for (int i = 0; i < kept; i++)
            {
                msrs.Add(new X86Msr(f.U32(), f.U32(), f.U64()));
            }

            Msrs = ReadOnlyView.Of(msrs);
        }

        /// <summary>The count the entry declares.</summary>
        public uint Count { get; }
        /// <summary>The MSRs (the first 65,536 when <see cref="MsrsTruncated"/>).</summary>
        public IReadOnlyList<X86Msr> Msrs { get; }
        /// <summary>True when the entry has more MSRs than are kept in memory.</summary>
        public bool MsrsTruncated => Msrs.Count < Count;

        /// <inheritdoc/>
        public override string Summary => string.Join(", ", Msrs);

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            // Each MSR: index u32, reserved u32, value u64, after the count and its pad.
            for (int n = 0; n < Msrs.Count; n++)
            {
                EntryFields.U64(p, 8 + (16 * n) + 8, Msrs[n].Value);
            }

            return true;
        }
    }
}
