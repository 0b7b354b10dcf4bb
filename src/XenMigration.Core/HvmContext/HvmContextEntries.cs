using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.X86;

namespace XenMigration.HvmContext
{
    /// <summary>The typecodes of the x86 HVM context (docs/formats §6.2).</summary>
    public enum HvmTypeCode : ushort
    {
        /// <summary>END (0).</summary>
        End = 0,
        /// <summary>HEADER (1).</summary>
        Header = 1,
        /// <summary>CPU (2), per vCPU.</summary>
        Cpu = 2,
        /// <summary>PIC (3), instance 0 master, 1 slave.</summary>
        Pic = 3,
        /// <summary>IOAPIC (4).</summary>
        IoApic = 4,
        /// <summary>LAPIC (5), per vCPU.</summary>
        Lapic = 5,
        /// <summary>LAPIC_REGS (6), per vCPU.</summary>
        LapicRegs = 6,
        /// <summary>PCI_IRQ (7).</summary>
        PciIrq = 7,
        /// <summary>ISA_IRQ (8).</summary>
        IsaIrq = 8,
        /// <summary>PCI_LINK (9).</summary>
        PciLink = 9,
        /// <summary>PIT (10).</summary>
        Pit = 10,
        /// <summary>RTC (11).</summary>
        Rtc = 11,
        /// <summary>HPET (12).</summary>
        Hpet = 12,
        /// <summary>PMTIMER (13).</summary>
        PmTimer = 13,
        /// <summary>MTRR (14), per vCPU.</summary>
        Mtrr = 14,
        /// <summary>VIRIDIAN_DOMAIN (15).</summary>
        ViridianDomain = 15,
        /// <summary>CPU_XSAVE (16), per vCPU.</summary>
        CpuXsave = 16,
        /// <summary>VIRIDIAN_VCPU (17), per vCPU.</summary>
        ViridianVcpu = 17,
        /// <summary>VMCE_VCPU (18), per vCPU.</summary>
        VmceVcpu = 18,
        /// <summary>TSC_ADJUST (19), per vCPU.</summary>
        TscAdjust = 19,
        /// <summary>CPU_MSR (20), per vCPU.</summary>
        CpuMsr = 20,
    }

    /// <summary>
    /// One entry of an HVM context (docs/formats §6), decoded. Entries of typecodes this module does
    /// not know are of this base type, with their bytes in <see cref="HvmUnknownEntry"/>.
    /// </summary>
    public class HvmContextEntry
    {
        internal HvmContextEntry(in HvmEntrySource source)
        {
            FilePath = source.FilePath;
            RecordIndex = source.RecordIndex;
            Checkpoint = source.Checkpoint;
            TypeCode = (HvmTypeCode)source.Code;
            Instance = source.Instance;
            Offset = source.Offset;
            Length = source.Length;
        }

        /// <summary>The file the entry was read from.</summary>
        public string? FilePath { get; }

        /// <summary>Index of the HVM_CONTEXT record (in the file's records) that holds the entry.</summary>
        public long RecordIndex { get; }

        /// <summary>Which HVM_CONTEXT of the stream: 0 for a plain save; 0, 1, ... for each checkpoint of a Remus/COLO stream.</summary>
        public int Checkpoint { get; }

        /// <summary>The typecode (numbers above 20 are not named by the enum).</summary>
        public HvmTypeCode TypeCode { get; }

        /// <summary>Xen's name of the typecode (HEADER, CPU, HPET, ..., or TYPE_n).</summary>
        public string Name => HvmContextFormat.NameOf((ushort)TypeCode);

        /// <summary>The vCPU for per-vCPU entries; 0 (or the PIC: 0 master, 1 slave) otherwise.</summary>
        public ushort Instance { get; }

        /// <summary>Byte offset of the entry's descriptor in the file.</summary>
        public long Offset { get; }

        /// <summary>Payload bytes (the descriptor's length).</summary>
        public uint Length { get; }

        /// <summary>A one-line description of the decoded fields.</summary>
        public virtual string Summary => string.Empty;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}[{1}] {2} bytes", Name, Instance, Length);

        private protected static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
    }

    /// <summary>Where an entry was found; filled by the decoder.</summary>
    internal readonly struct HvmEntrySource
    {
        public HvmEntrySource(string? filePath, long recordIndex, int checkpoint, ushort code, ushort instance, long offset, uint length)
        {
            FilePath = filePath;
            RecordIndex = recordIndex;
            Checkpoint = checkpoint;
            Code = code;
            Instance = instance;
            Offset = offset;
            Length = length;
        }

        public string? FilePath { get; }
        public long RecordIndex { get; }
        public int Checkpoint { get; }
        public ushort Code { get; }
        public ushort Instance { get; }
        public long Offset { get; }
        public uint Length { get; }
    }

    /// <summary>An entry of a typecode this module does not decode: its bytes.</summary>
    public sealed class HvmUnknownEntry : HvmContextEntry
    {
        private readonly byte[] _data;

        internal HvmUnknownEntry(in HvmEntrySource source, byte[] data)
            : base(source) => _data = data;

        /// <summary>The payload (a copy).</summary>
        public byte[] Data => (byte[])_data.Clone();

        /// <inheritdoc/>
        public override string Summary => _data.Length.ToString(CultureInfo.InvariantCulture) + " bytes, not decoded";
    }

    /// <summary>HEADER (1).</summary>
    public sealed class HvmHeaderEntry : HvmContextEntry
    {
        internal HvmHeaderEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            Magic = f.U32();
            Version = f.U32();
            Changeset = f.U64();
            Cpuid = f.U32();
            GtscKhz = f.U32();
        }

        /// <summary>0x54381286.</summary>
        public uint Magic { get; }
        /// <summary>1.</summary>
        public uint Version { get; }
        /// <summary>The saving Xen's changeset, or all ones.</summary>
        public ulong Changeset { get; }
        /// <summary>CPUID leaf 1 EAX of the saving CPU.</summary>
        public uint Cpuid { get; }
        /// <summary>Family of <see cref="Cpuid"/> (with the extended family).</summary>
        public uint Family => ((Cpuid >> 8) & 0xF) == 0xF ? 0xF + ((Cpuid >> 20) & 0xFF) : (Cpuid >> 8) & 0xF;
        /// <summary>Model of <see cref="Cpuid"/> (with the extended model).</summary>
        public uint Model => ((Cpuid >> 4) & 0xF) | (((Cpuid >> 8) & 0xF) is 6 or 0xF ? ((Cpuid >> 16) & 0xF) << 4 : 0);
        /// <summary>Guest TSC frequency in kHz (0: unchanged).</summary>
        public uint GtscKhz { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "magic 0x{0:x8} v{1}, cpuid 0x{2:x} (family 0x{3:x} model 0x{4:x}), {5} kHz", Magic, Version, Cpuid, Family, Model, GtscKhz);
    }

    /// <summary>A segment register of the HVM CPU entry.</summary>
    public sealed class HvmSegment
    {
        internal HvmSegment(uint selector, uint limit, ulong @base, uint arbytes)
        {
            Selector = selector;
            Limit = limit;
            Base = @base;
            Arbytes = arbytes;
        }

        /// <summary>Selector.</summary>
        public uint Selector { get; }
        /// <summary>Limit.</summary>
        public uint Limit { get; }
        /// <summary>Base address.</summary>
        public ulong Base { get; }
        /// <summary>Access rights ("arbytes": type, S, DPL, P, AVL, L, D/B, G).</summary>
        public uint Arbytes { get; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0:x4} base {1:x} limit {2:x} ar {3:x}", Selector, Base, Limit, Arbytes);
    }

    /// <summary>CPU (2): a vCPU's registers (the 1032-byte layout; the 1016-byte compat layout is read too).</summary>
    public sealed class HvmCpuEntry : HvmContextEntry
    {
        internal HvmCpuEntry(in HvmEntrySource s, ref HvmFields f)
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
            HvmSegment Seg(int i) => new HvmSegment(sel[i], lim[i], bas[i], ar[i]);
            Cs = Seg(0); Ds = Seg(1); Es = Seg(2); Fs = Seg(3); Gs = Seg(4); Ss = Seg(5); Tr = Seg(6); Ldtr = Seg(7);
            Idtr = new HvmSegment(0, lim[8], bas[8], 0);
            Gdtr = new HvmSegment(0, lim[9], bas[9], 0);
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
        }

        /// <summary>True for the pre-Xen-3.4 1016-byte layout (no TSC_AUX, no flags).</summary>
        public bool IsCompatLayout { get; }
#pragma warning disable CS1591 // register names are their documentation
        public ushort Fcw { get; }
        public ushort Fsw { get; }
        public uint Mxcsr { get; }
        public ulong Rax { get; }
        public ulong Rbx { get; }
        public ulong Rcx { get; }
        public ulong Rdx { get; }
        public ulong Rbp { get; }
        public ulong Rsi { get; }
        public ulong Rdi { get; }
        public ulong Rsp { get; }
        public ulong R8 { get; }
        public ulong R9 { get; }
        public ulong R10 { get; }
        public ulong R11 { get; }
        public ulong R12 { get; }
        public ulong R13 { get; }
        public ulong R14 { get; }
        public ulong R15 { get; }
        public ulong Rip { get; }
        public ulong Rflags { get; }
        public ulong Cr0 { get; }
        public ulong Cr2 { get; }
        public ulong Cr3 { get; }
        public ulong Cr4 { get; }
        public ulong Dr0 { get; }
        public ulong Dr1 { get; }
        public ulong Dr2 { get; }
        public ulong Dr3 { get; }
        public ulong Dr6 { get; }
        public ulong Dr7 { get; }
        public HvmSegment Cs { get; }
        public HvmSegment Ds { get; }
        public HvmSegment Es { get; }
        public HvmSegment Fs { get; }
        public HvmSegment Gs { get; }
        public HvmSegment Ss { get; }
        public HvmSegment Tr { get; }
        public HvmSegment Ldtr { get; }
        public HvmSegment Idtr { get; }
        public HvmSegment Gdtr { get; }
        public ulong SysenterCs { get; }
        public ulong SysenterEsp { get; }
        public ulong SysenterEip { get; }
        public ulong ShadowGs { get; }
        public ulong MsrFlags { get; }
        public ulong MsrLstar { get; }
        public ulong MsrStar { get; }
        public ulong MsrCstar { get; }
        public ulong MsrSyscallMask { get; }
        public ulong MsrEfer { get; }
        public ulong MsrTscAux { get; }
        public ulong Tsc { get; }
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
        public string Mode => (Cr0 & 1) == 0 ? "Real" : (MsrEfer & 0x400) != 0 ? "Long" : "Protected";

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} mode, rip {1}, rsp {2}, cr3 {3}{4}", Mode, Hex(Rip), Hex(Rsp), Hex(Cr3), PendingValid ? ", event pending" : string.Empty);
    }

    /// <summary>PIC (3): an 8259A; instance 0 master, 1 slave.</summary>
    public sealed class HvmPicEntry : HvmContextEntry
    {
        internal HvmPicEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            Irr = f.U8(); Imr = f.U8(); Isr = f.U8(); IrqBase = f.U8();
            byte init = f.U8();
            byte bits = f.U8();
            Elcr = f.U8(); IntOutput = f.U8();
            InitState = init & 0xF;
            PriorityAdd = init >> 4;
            ReadSelIsr = (bits & 1) != 0; Poll = (bits & 2) != 0; AutoEoi = (bits & 4) != 0; RotateOnAutoEoi = (bits & 8) != 0;
            SpecialFullyNestedMode = (bits & 0x10) != 0; SpecialMaskMode = (bits & 0x20) != 0; IsMaster = (bits & 0x40) != 0;
        }
#pragma warning disable CS1591
        public byte Irr { get; }
        public byte Imr { get; }
        public byte Isr { get; }
        public byte IrqBase { get; }
        public int InitState { get; }
        public int PriorityAdd { get; }
        public bool ReadSelIsr { get; }
        public bool Poll { get; }
        public bool AutoEoi { get; }
        public bool RotateOnAutoEoi { get; }
        public bool SpecialFullyNestedMode { get; }
        public bool SpecialMaskMode { get; }
        public bool IsMaster { get; }
        public byte Elcr { get; }
        public byte IntOutput { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}, base {1}, irr 0x{2:x2} imr 0x{3:x2} isr 0x{4:x2}", IsMaster ? "master" : "slave", Hex(IrqBase), Irr, Imr, Isr);
    }

    /// <summary>One redirection-table entry of the IOAPIC.</summary>
    public sealed class HvmIoApicPin
    {
        internal HvmIoApicPin(int pin, ulong raw) { Pin = pin; Raw = raw; }

        /// <summary>Pin number (0-15 ISA, 16-47 PCI).</summary>
        public int Pin { get; }
        /// <summary>The 64-bit entry.</summary>
        public ulong Raw { get; }
#pragma warning disable CS1591
        public byte Vector => unchecked((byte)Raw);
        public int DeliveryMode => (int)((Raw >> 8) & 7);
        public bool LogicalDestination => ((Raw >> 11) & 1) != 0;
        public bool DeliveryPending => ((Raw >> 12) & 1) != 0;
        public bool ActiveLow => ((Raw >> 13) & 1) != 0;
        public bool RemoteIrr => ((Raw >> 14) & 1) != 0;
        public bool LevelTriggered => ((Raw >> 15) & 1) != 0;
        public bool Masked => ((Raw >> 16) & 1) != 0;
        public byte Destination => (byte)(Raw >> 56);
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "pin {0}: vector 0x{1:x2}{2}", Pin, Vector, Masked ? " masked" : string.Empty);
    }

    /// <summary>IOAPIC (4).</summary>
    public sealed class HvmIoApicEntry : HvmContextEntry
    {
        internal HvmIoApicEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            BaseAddress = f.U64();
            IoRegSel = f.U32();
            Id = f.U32();
            var pins = new List<HvmIoApicPin>(48);
            for (int i = 0; i < 48; i++)
            {
                pins.Add(new HvmIoApicPin(i, f.U64()));
            }

            Pins = pins;
        }

        /// <summary>MMIO base (0xFEC00000 by default).</summary>
        public ulong BaseAddress { get; }
        /// <summary>The selected register.</summary>
        public uint IoRegSel { get; }
        /// <summary>IOAPIC id.</summary>
        public uint Id { get; }
        /// <summary>The 48 redirection-table entries.</summary>
        public IReadOnlyList<HvmIoApicPin> Pins { get; }

        /// <inheritdoc/>
        public override string Summary
        {
            get
            {
                int unmasked = 0;
                foreach (HvmIoApicPin p in Pins)
                {
                    unmasked += p.Masked ? 0 : 1;
                }

                return string.Format(CultureInfo.InvariantCulture, "base {0}, id {1}, {2} of 48 pins unmasked", Hex(BaseAddress), Id, unmasked);
            }
        }
    }

    /// <summary>LAPIC (5): a vCPU's local APIC state besides its registers.</summary>
    public sealed class HvmLapicEntry : HvmContextEntry
    {
        internal HvmLapicEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            ApicBaseMsr = f.U64();
            Disabled = f.U32();
            TimerDivisor = f.U32();
            TdtMsr = f.U64();
            PendingEsr = f.U32();
        }

        /// <summary>IA32_APIC_BASE.</summary>
        public ulong ApicBaseMsr { get; }
        /// <summary>The APIC's physical base address.</summary>
        public ulong BaseAddress => ApicBaseMsr & ~0xFFFUL;
        /// <summary>The BSP flag (bit 8).</summary>
        public bool Bsp => (ApicBaseMsr & 0x100) != 0;
        /// <summary>x2APIC mode (EXTD, bit 10).</summary>
        public bool X2Apic => (ApicBaseMsr & 0x400) != 0;
        /// <summary>Globally enabled (EN, bit 11).</summary>
        public bool Enabled => (ApicBaseMsr & 0x800) != 0;
        /// <summary>Bit 0 hardware-disabled, bit 1 software-disabled.</summary>
        public uint Disabled { get; }
        /// <summary>Timer divisor.</summary>
        public uint TimerDivisor { get; }
        /// <summary>IA32_TSC_DEADLINE.</summary>
        public ulong TdtMsr { get; }
        /// <summary>Pending error status.</summary>
        public uint PendingEsr { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "base {0}{1}{2}{3}", Hex(BaseAddress), Enabled ? ", enabled" : ", disabled", X2Apic ? ", x2APIC" : string.Empty, Bsp ? ", BSP" : string.Empty);
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
        public uint Value { get; }

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

        internal HvmLapicRegsEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            var regs = new List<HvmApicRegister>(s_registers.Length);
            foreach ((int offset, string name) in s_registers)
            {
                regs.Add(new HvmApicRegister(name, offset, f.U32At(offset)));
            }

            Registers = regs;
            InService = Vectors(f, 0x100);
            Requested = Vectors(f, 0x200);
            LevelTriggered = Vectors(f, 0x180);
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

        private static int[] Vectors(HvmFields f, int offset)
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
    }

    /// <summary>PCI_IRQ (7), ISA_IRQ (8) and PCI_LINK (9): interrupt-line state.</summary>
    public sealed class HvmIrqEntry : HvmContextEntry
    {
        internal HvmIrqEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            var asserted = new List<string>();
            var routes = new List<int>();
            switch (TypeCode)
            {
                case HvmTypeCode.PciIrq:
                    for (int bit = 0; bit < 128; bit++)
                    {
                        if ((f.U8At(bit / 8) & (1 << (bit % 8))) != 0)
                        {
                            asserted.Add(string.Format(CultureInfo.InvariantCulture, "{0:x2}.INT{1}", bit / 4, (char)('A' + (bit % 4))));
                        }
                    }

                    break;
                case HvmTypeCode.IsaIrq:
                    for (int irq = 0; irq < 16; irq++)
                    {
                        if ((f.U8At(irq / 8) & (1 << (irq % 8))) != 0)
                        {
                            asserted.Add("IRQ" + irq.ToString(CultureInfo.InvariantCulture));
                        }
                    }

                    break;
                default:
                    for (int link = 0; link < 4; link++)
                    {
                        routes.Add(f.U8At(link));
                    }

                    break;
            }

            Asserted = asserted;
            Routes = routes;
        }

        /// <summary>PCI_IRQ: asserted lines as "device.INTx"; ISA_IRQ: "IRQn"; empty for PCI_LINK.</summary>
        public IReadOnlyList<string> Asserted { get; }
        /// <summary>PCI_LINK: the ISA IRQ each of the 4 PCI links routes to (0 = none); empty otherwise.</summary>
        public IReadOnlyList<int> Routes { get; }

        /// <inheritdoc/>
        public override string Summary => TypeCode == HvmTypeCode.PciLink
            ? "links → IRQ " + string.Join(", ", Routes)
            : Asserted.Count == 0 ? "no line asserted" : string.Join(", ", Asserted);
    }

    /// <summary>One 8254 channel.</summary>
    public sealed class HvmPitChannel
    {
        internal HvmPitChannel(int index, ref HvmFields f)
        {
            Index = index;
            Count = f.U32(); LatchedCount = f.U16(); CountLatched = f.U8(); StatusLatched = f.U8(); Status = f.U8();
            ReadState = f.U8(); WriteState = f.U8(); WriteLatch = f.U8(); RwMode = f.U8(); Mode = f.U8(); Bcd = f.U8(); Gate = f.U8();
        }
#pragma warning disable CS1591
        public int Index { get; }
        public uint Count { get; }
        public ushort LatchedCount { get; }
        public byte CountLatched { get; }
        public byte StatusLatched { get; }
        public byte Status { get; }
        public byte ReadState { get; }
        public byte WriteState { get; }
        public byte WriteLatch { get; }
        public byte RwMode { get; }
        public byte Mode { get; }
        public byte Bcd { get; }
        public byte Gate { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "channel {0}: mode {1}, count {2}, gate {3}", Index, Mode, Count, Gate);
    }

    /// <summary>PIT (10): the 8254's three channels.</summary>
    public sealed class HvmPitEntry : HvmContextEntry
    {
        internal HvmPitEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            Channels = new[] { new HvmPitChannel(0, ref f), new HvmPitChannel(1, ref f), new HvmPitChannel(2, ref f) };
            SpeakerDataOn = f.U32();
        }

        /// <summary>Channels 0 (timer), 1 (refresh), 2 (speaker).</summary>
        public IReadOnlyList<HvmPitChannel> Channels { get; }
        /// <summary>Speaker data gate.</summary>
        public uint SpeakerDataOn { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "channel 0 mode {0} count {1}", Channels[0].Mode, Channels[0].Count);
    }

    /// <summary>RTC (11): the MC146818's 14 time registers, index and offset from host time.</summary>
    public sealed class HvmRtcEntry : HvmContextEntry
    {
        private readonly byte[] _cmos;

        internal HvmRtcEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            _cmos = f.Bytes(14);
            CmosIndex = f.U8();
            f.Skip(1);
            RtcOffset = f.I64();
            IsOldLayout = s.Length == 16;
        }

        /// <summary>The 14 RTC registers (a copy): seconds, alarm, minutes, ..., registers A-D.</summary>
        public byte[] CmosData => (byte[])_cmos.Clone();
        /// <summary>The selected CMOS register.</summary>
        public byte CmosIndex { get; }
        /// <summary>Seconds of the guest clock from host time (0 in the old 16-byte entry).</summary>
        public long RtcOffset { get; }
        /// <summary>True for the old 16-byte entry, which has no offset.</summary>
        public bool IsOldLayout { get; }
        /// <summary>Register B bit 2: binary (not BCD) values.</summary>
        public bool Binary => (_cmos[11] & 4) != 0;
        /// <summary>The RTC's time and date as the registers hold them (century not stored here), or null if invalid.</summary>
        public string? Time
        {
            get
            {
                int V(int i) => Binary ? _cmos[i] : ((_cmos[i] >> 4) * 10) + (_cmos[i] & 0xF);
                int hour = V(4) & 0x7F;
                if ((_cmos[11] & 2) == 0 && (_cmos[4] & 0x80) != 0)
                {
                    hour = (hour % 12) + 12;   // 12-hour mode, PM
                }

                return string.Format(CultureInfo.InvariantCulture, "{0:00}-{1:00}-{2:00} {3:00}:{4:00}:{5:00}", V(9), V(8), V(7), hour, V(2), V(0));
            }
        }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}, offset {1} s", Time, RtcOffset);
    }

    /// <summary>One HPET comparator (timer).</summary>
    public sealed class HvmHpetTimer
    {
        internal HvmHpetTimer(int index, ulong config, ulong comparator, ulong fsb, ulong period)
        {
            Index = index;
            Config = config;
            Comparator = comparator;
            FsbRoute = fsb;
            Period = period;
        }

        /// <summary>Timer number (0-2).</summary>
        public int Index { get; }
        /// <summary>Configuration and capabilities register.</summary>
        public ulong Config { get; }
        /// <summary>Comparator value.</summary>
        public ulong Comparator { get; }
        /// <summary>FSB interrupt route (not supported by Xen).</summary>
        public ulong FsbRoute { get; }
        /// <summary>Hidden state: the last value written to the comparator (the period of a periodic timer).</summary>
        public ulong Period { get; }
        /// <summary>Bit 1: level-triggered interrupt.</summary>
        public bool Level => (Config & 0x2) != 0;
        /// <summary>Bit 2: interrupt enabled.</summary>
        public bool Enabled => (Config & 0x4) != 0;
        /// <summary>Bit 3 (HPET_TN_PERIODIC): periodic mode.</summary>
        public bool Periodic => (Config & 0x8) != 0;
        /// <summary>Bit 4: periodic mode supported.</summary>
        public bool PeriodicCapable => (Config & 0x10) != 0;
        /// <summary>Bit 5: 64-bit comparator.</summary>
        public bool Is64BitCapable => (Config & 0x20) != 0;
        /// <summary>Bit 6: the next comparator write sets the accumulator.</summary>
        public bool SetValue => (Config & 0x40) != 0;
        /// <summary>Bit 8: forced 32-bit mode.</summary>
        public bool Mode32Bit => (Config & 0x100) != 0;
        /// <summary>Bits 9-13: the IOAPIC pin the timer interrupts on.</summary>
        public int Route => (int)((Config >> 9) & 0x1F);
        /// <summary>Bit 14: FSB delivery enabled.</summary>
        public bool FsbEnabled => (Config & 0x4000) != 0;
        /// <summary>Bit 15: FSB delivery supported.</summary>
        public bool FsbCapable => (Config & 0x8000) != 0;
        /// <summary>Bits 32-63: the IOAPIC pins the timer can be routed to (a bitmap).</summary>
        public uint RouteCapability => (uint)(Config >> 32);
        /// <summary>Bits the HPET defines as reserved that are set (mask 0xFFFF0081).</summary>
        public ulong ReservedBits => Config & 0xFFFF0081UL & 0xFFFFFFFFUL;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "timer {0}: config 0x{1:x}{2}{3}, route {4}, comparator 0x{5:x}", Index, Config, Enabled ? " enabled" : string.Empty, Periodic ? " periodic" : string.Empty, Route, Comparator);
    }

    /// <summary>HPET (12): the register block and the hidden periods.</summary>
    public sealed class HvmHpetEntry : HvmContextEntry
    {
        internal HvmHpetEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            Capability = f.U64At(0x000);
            Config = f.U64At(0x010);
            Isr = f.U64At(0x020);
            MainCounter = f.U64At(0x0F0);
            var timers = new List<HvmHpetTimer>(3);
            for (int n = 0; n < 3; n++)
            {
                int t = 0x100 + (0x20 * n);
                timers.Add(new HvmHpetTimer(n, f.U64At(t), f.U64At(t + 8), f.U64At(t + 0x10), f.U64At(0x400 + (8 * n))));
            }

            Timers = timers;
            ulong reserved = f.U64At(0x008) | f.U64At(0x018) | f.U64At(0x0F8);
            for (int off = 0x028; off < 0x0F0; off += 8)
            {
                reserved |= f.U64At(off);
            }

            ReservedZero = reserved == 0;
        }

        /// <summary>General Capabilities and ID register.</summary>
        public ulong Capability { get; }
        /// <summary>Revision (bits 0-7; Xen: 1).</summary>
        public int Revision => (int)(Capability & 0xFF);
        /// <summary>Number of timers (bits 8-12, plus one).</summary>
        public int TimerCount => (int)((Capability >> 8) & 0x1F) + 1;
        /// <summary>Bit 13: 64-bit main counter.</summary>
        public bool Counter64Bit => (Capability & 0x2000) != 0;
        /// <summary>Bit 15: legacy replacement routing supported.</summary>
        public bool LegacyCapable => (Capability & 0x8000) != 0;
        /// <summary>Vendor id (bits 16-31; 0x8086).</summary>
        public int VendorId => (int)((Capability >> 16) & 0xFFFF);
        /// <summary>Main-counter tick period in femtoseconds (bits 32-63; Xen: 16,000,000 = 62.5 MHz).</summary>
        public uint PeriodFs => (uint)(Capability >> 32);
        /// <summary>General Configuration register.</summary>
        public ulong Config { get; }
        /// <summary>Bit 0: the HPET is enabled.</summary>
        public bool Enabled => (Config & 1) != 0;
        /// <summary>Bit 1: legacy replacement routing (timer 0 → IRQ0, timer 1 → IRQ8).</summary>
        public bool LegacyRouting => (Config & 2) != 0;
        /// <summary>General Interrupt Status register.</summary>
        public ulong Isr { get; }
        /// <summary>Main counter.</summary>
        public ulong MainCounter { get; }
        /// <summary>The three timers.</summary>
        public IReadOnlyList<HvmHpetTimer> Timers { get; }
        /// <summary>True when the reserved registers of the general block are zero.</summary>
        public bool ReservedZero { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}{1}, counter {2}, timer0 {3}", Enabled ? "enabled" : "disabled", LegacyRouting ? " (legacy routing)" : string.Empty, Hex(MainCounter), Timers[0].Periodic ? "periodic" : "one-shot");
    }

    /// <summary>PMTIMER (13): the ACPI PM timer.</summary>
    public sealed class HvmPmTimerEntry : HvmContextEntry
    {
        internal HvmPmTimerEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            TmrVal = f.U32();
            Pm1aSts = f.U16();
            Pm1aEn = f.U16();
        }
#pragma warning disable CS1591
        public uint TmrVal { get; }
        public ushort Pm1aSts { get; }
        public ushort Pm1aEn { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "tmr_val 0x{0:x8}, pm1a_sts 0x{1:x4}, pm1a_en 0x{2:x4}", TmrVal, Pm1aSts, Pm1aEn);
    }

    /// <summary>A variable MTRR (base/mask pair).</summary>
    public sealed class HvmMtrrRange
    {
        internal HvmMtrrRange(int index, ulong @base, ulong mask) { Index = index; Base = @base; Mask = mask; }
#pragma warning disable CS1591
        public int Index { get; }
        public ulong Base { get; }
        public ulong Mask { get; }
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
        internal HvmMtrrEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            Pat = f.U64();
            var ranges = new List<HvmMtrrRange>(8);
            for (int i = 0; i < 8; i++)
            {
                ranges.Add(new HvmMtrrRange(i, f.U64(), f.U64()));
            }

            Variable = ranges;
            Fixed = f.U64s(11);
            Capability = f.U64();
            DefType = f.U64();
        }

        /// <summary>IA32_PAT.</summary>
        public ulong Pat { get; }
        /// <summary>The 8 variable ranges.</summary>
        public IReadOnlyList<HvmMtrrRange> Variable { get; }
        /// <summary>The 11 fixed-range MTRRs.</summary>
        public IReadOnlyList<ulong> Fixed { get; }
        /// <summary>IA32_MTRRCAP.</summary>
        public ulong Capability { get; }
        /// <summary>Variable ranges supported (MTRRCAP bits 0-7).</summary>
        public int VariableCount => (int)(Capability & 0xFF);
        /// <summary>IA32_MTRR_DEF_TYPE.</summary>
        public ulong DefType { get; }
        /// <summary>MTRRs enabled (DEF_TYPE bit 11).</summary>
        public bool Enabled => (DefType & 0x800) != 0;
        /// <summary>Fixed ranges enabled (DEF_TYPE bit 10).</summary>
        public bool FixedEnabled => (DefType & 0x400) != 0;
        /// <summary>Default memory type (DEF_TYPE bits 0-7).</summary>
        public int DefaultType => (int)(DefType & 0xFF);

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "pat {0}, {1}, default type {2}", Hex(Pat), Enabled ? "enabled" : "disabled", DefaultType);
    }

    /// <summary>VIRIDIAN_DOMAIN (15): Hyper-V enlightenment state of the domain.</summary>
    public sealed class HvmViridianDomainEntry : HvmContextEntry
    {
        internal HvmViridianDomainEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            HypercallGpa = f.U64(); GuestOsId = f.U64(); TimeRefCount = f.U64(); ReferenceTsc = f.U64();
        }
#pragma warning disable CS1591
        public ulong HypercallGpa { get; }
        public ulong GuestOsId { get; }
        public ulong TimeRefCount { get; }
        public ulong ReferenceTsc { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "guest os id {0}, hypercall page {1}", Hex(GuestOsId), Hex(HypercallGpa));
    }

    /// <summary>CPU_XSAVE (16): a vCPU's XCR0 and XSAVE area header.</summary>
    public sealed class HvmCpuXsaveEntry : HvmContextEntry
    {
        internal HvmCpuXsaveEntry(in HvmEntrySource s, ref HvmFields f)
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
            Components = X86Xsave.Components(Xcr0, Xcr0Accum, XstateBv);
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
        internal HvmViridianVcpuEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            VpAssistMsr = f.U64();
            ApicAssistPending = f.U8() != 0;
            f.Skip(7);
            SimpMsr = f.U64();
            SintMsr = f.U64s(16);
            StimerConfigMsr = f.U64s(4);
            StimerCountMsr = f.U64s(4);
        }
#pragma warning disable CS1591
        public ulong VpAssistMsr { get; }
        public bool ApicAssistPending { get; }
        public ulong SimpMsr { get; }
        public IReadOnlyList<ulong> SintMsr { get; }
        public IReadOnlyList<ulong> StimerConfigMsr { get; }
        public IReadOnlyList<ulong> StimerCountMsr { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "vp_assist {0}, simp {1}", Hex(VpAssistMsr), Hex(SimpMsr));
    }

    /// <summary>VMCE_VCPU (18): a vCPU's virtual machine-check state.</summary>
    public sealed class HvmVmceVcpuEntry : HvmContextEntry
    {
        internal HvmVmceVcpuEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s)
        {
            Caps = f.U64(); MciCtl2Bank0 = f.U64(); MciCtl2Bank1 = f.U64(); McgExtCtl = f.U64();
        }
#pragma warning disable CS1591
        public ulong Caps { get; }
        public ulong MciCtl2Bank0 { get; }
        public ulong MciCtl2Bank1 { get; }
        public ulong McgExtCtl { get; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => "mcg_cap " + Hex(Caps);
    }

    /// <summary>TSC_ADJUST (19).</summary>
    public sealed class HvmTscAdjustEntry : HvmContextEntry
    {
        internal HvmTscAdjustEntry(in HvmEntrySource s, ref HvmFields f)
            : base(s) => TscAdjust = f.U64();

        /// <summary>IA32_TSC_ADJUST.</summary>
        public ulong TscAdjust { get; }

        /// <inheritdoc/>
        public override string Summary => "tsc_adjust " + Hex(TscAdjust);
    }

    /// <summary>CPU_MSR (20): a vCPU's MSRs.</summary>
    public sealed class HvmCpuMsrEntry : HvmContextEntry
    {
        internal HvmCpuMsrEntry(in HvmEntrySource s, ref HvmFields f, uint count)
            : base(s)
        {
            Count = f.U32();
            f.Skip(4);
            var msrs = new List<X86Msr>((int)count);
            for (uint i = 0; i < count; i++)
            {
                msrs.Add(new X86Msr(f.U32(), f.U32(), f.U64()));
            }

            Msrs = msrs;
        }

        /// <summary>The count the entry declares.</summary>
        public uint Count { get; }
        /// <summary>The MSRs.</summary>
        public IReadOnlyList<X86Msr> Msrs { get; }

        /// <inheritdoc/>
        public override string Summary => string.Join(", ", Msrs);
    }
}
