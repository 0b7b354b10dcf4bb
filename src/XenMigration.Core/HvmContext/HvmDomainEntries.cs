using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.HvmContext
{
    /// <summary>PIC (3): an 8259A; instance 0 master, 1 slave.</summary>
    public sealed class HvmPicEntry : HvmContextEntry
    {
        internal HvmPicEntry(in HvmEntrySource s, ref SpanReader f)
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
        public byte Irr { get; set; }
        public byte Imr { get; set; }
        public byte Isr { get; set; }
        public byte IrqBase { get; set; }
        public int InitState { get; }
        public int PriorityAdd { get; }
        public bool ReadSelIsr { get; }
        public bool Poll { get; }
        public bool AutoEoi { get; }
        public bool RotateOnAutoEoi { get; }
        public bool SpecialFullyNestedMode { get; }
        public bool SpecialMaskMode { get; }
        public bool IsMaster { get; }
        public byte Elcr { get; set; }
        public byte IntOutput { get; set; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}, base {1}, irr 0x{2:x2} imr 0x{3:x2} isr 0x{4:x2}", IsMaster ? "master" : "slave", Hex(IrqBase), Irr, Imr, Isr);

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            // The packed state bytes (4: init state and priority, 5: mode bits) are read-only here.
            EntryFields.U8(p, 0, Irr);
            EntryFields.U8(p, 1, Imr);
            EntryFields.U8(p, 2, Isr);
            EntryFields.U8(p, 3, IrqBase);
            EntryFields.U8(p, 6, Elcr);
            EntryFields.U8(p, 7, IntOutput);
            return true;
        }
    }

    /// <summary>One redirection-table entry of the IOAPIC.</summary>
    public sealed class HvmIoApicPin
    {
        internal HvmIoApicPin(int pin, ulong raw) { Pin = pin; Raw = raw; }

        /// <summary>Pin number (0-15 ISA, 16-47 PCI).</summary>
        public int Pin { get; }
        /// <summary>The 64-bit entry (settable: the decoded bits below follow it).</summary>
        public ulong Raw { get; set; }
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
        internal HvmIoApicEntry(in HvmEntrySource s, ref SpanReader f)
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

            Pins = ReadOnlyView.Of(pins);
        }

        /// <summary>MMIO base (0xFEC00000 by default).</summary>
        public ulong BaseAddress { get; set; }
        /// <summary>The selected register.</summary>
        public uint IoRegSel { get; set; }
        /// <summary>IOAPIC id.</summary>
        public uint Id { get; set; }
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

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U64(p, 0, BaseAddress);
            EntryFields.U32(p, 8, IoRegSel);
            EntryFields.U32(p, 12, Id);
            foreach (HvmIoApicPin pin in Pins)
            {
                EntryFields.U64(p, 16 + (8 * pin.Pin), pin.Raw);
            }

            return true;
        }
    }

    /// <summary>PCI_IRQ (7), ISA_IRQ (8) and PCI_LINK (9): interrupt-line state.</summary>
    public sealed class HvmIrqEntry : HvmContextEntry
    {
        internal HvmIrqEntry(in HvmEntrySource s, ref SpanReader f)
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

            Asserted = ReadOnlyView.Of(asserted);
            Routes = ReadOnlyView.Of(routes);
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
        internal HvmPitChannel(int index, ref SpanReader f)
        {
            Index = index;
            Count = f.U32(); LatchedCount = f.U16(); CountLatched = f.U8(); StatusLatched = f.U8(); Status = f.U8();
            ReadState = f.U8(); WriteState = f.U8(); WriteLatch = f.U8(); RwMode = f.U8(); Mode = f.U8(); Bcd = f.U8(); Gate = f.U8();
        }
#pragma warning disable CS1591
        public int Index { get; }
        public uint Count { get; set; }
        public ushort LatchedCount { get; set; }
        public byte CountLatched { get; set; }
        public byte StatusLatched { get; set; }
        public byte Status { get; set; }
        public byte ReadState { get; set; }
        public byte WriteState { get; set; }
        public byte WriteLatch { get; set; }
        public byte RwMode { get; set; }
        public byte Mode { get; set; }
        public byte Bcd { get; set; }
        public byte Gate { get; set; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "channel {0}: mode {1}, count {2}, gate {3}", Index, Mode, Count, Gate);

        // struct hvm_hw_pit_channel: 16 bytes, the count, the latched count, then ten bytes.
        internal void WriteTo(System.Span<byte> p, int at)
        {
            EntryFields.U32(p, at, Count);
            EntryFields.U16(p, at + 4, LatchedCount);
            byte[] bytes = { CountLatched, StatusLatched, Status, ReadState, WriteState, WriteLatch, RwMode, Mode, Bcd, Gate };
            for (int i = 0; i < bytes.Length; i++)
            {
                EntryFields.U8(p, at + 6 + i, bytes[i]);
            }
        }
    }

    /// <summary>PIT (10): the 8254's three channels.</summary>
    public sealed class HvmPitEntry : HvmContextEntry
    {
        internal HvmPitEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            Channels = ReadOnlyView.Of(new[] { new HvmPitChannel(0, ref f), new HvmPitChannel(1, ref f), new HvmPitChannel(2, ref f) });
            SpeakerDataOn = f.U32();
        }

        /// <summary>Channels 0 (timer), 1 (refresh), 2 (speaker).</summary>
        public IReadOnlyList<HvmPitChannel> Channels { get; }
        /// <summary>Speaker data gate.</summary>
        public uint SpeakerDataOn { get; set; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "channel 0 mode {0} count {1}", Channels[0].Mode, Channels[0].Count);

        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            for (int n = 0; n < Channels.Count; n++)
            {
                Channels[n].WriteTo(p, 16 * n);
            }

            EntryFields.U32(p, 48, SpeakerDataOn);
            return true;
        }
    }

    /// <summary>RTC (11): the MC146818's 14 time registers, index and offset from host time.</summary>
    public sealed class HvmRtcEntry : HvmContextEntry
    {
        private readonly byte[] _cmos;

        internal HvmRtcEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            _cmos = f.Array(14);
            CmosIndex = f.U8();
            f.Skip(1);
            RtcOffset = f.I64();
            IsOldLayout = s.Length == 16;
        }

        /// <summary>The 14 RTC registers (a copy): seconds, alarm, minutes, ..., registers A-D.</summary>
        public ReadOnlyBytes CmosData => new ReadOnlyBytes(_cmos);
        /// <summary>The selected CMOS register.</summary>
        public byte CmosIndex { get; set; }
        /// <summary>Seconds of the guest clock from host time (0 in the old 16-byte entry).</summary>
        public long RtcOffset { get; set; }
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
        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U8(p, 14, CmosIndex);
            EntryFields.I64(p, 16, RtcOffset);
            return true;
        }
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
        /// <summary>Configuration and capabilities register (settable: Set-XenHvmContext writes it back).</summary>
        public ulong Config { get; set; }
        /// <summary>Comparator value (settable).</summary>
        public ulong Comparator { get; set; }
        /// <summary>FSB interrupt route (not supported by Xen; settable).</summary>
        public ulong FsbRoute { get; set; }
        /// <summary>Hidden state: the last value written to the comparator (the period of a periodic timer; settable).</summary>
        public ulong Period { get; set; }
        /// <summary>Bit 1: level-triggered interrupt.</summary>
        public bool Level => (Config & 0x2) != 0;
        /// <summary>Bit 2: interrupt enabled (settable: sets or clears the bit in <see cref="Config"/>).</summary>
        public bool Enabled
        {
            get => (Config & 0x4) != 0;
            set => Config = value ? Config | 0x4 : Config & ~0x4UL;
        }

        /// <summary>Bit 3 (HPET_TN_PERIODIC): periodic mode (settable: sets or clears the bit in <see cref="Config"/>).</summary>
        public bool Periodic
        {
            get => (Config & 0x8) != 0;
            set => Config = value ? Config | 0x8 : Config & ~0x8UL;
        }
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
        internal HvmHpetEntry(in HvmEntrySource s, ref SpanReader f)
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

            Timers = ReadOnlyView.Of(timers);
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
        /// <summary>General Configuration register (settable).</summary>
        public ulong Config { get; set; }
        /// <summary>Bit 0: the HPET is enabled.</summary>
        public bool Enabled => (Config & 1) != 0;
        /// <summary>Bit 1: legacy replacement routing (timer 0 → IRQ0, timer 1 → IRQ8).</summary>
        public bool LegacyRouting => (Config & 2) != 0;
        /// <summary>General Interrupt Status register (settable).</summary>
        public ulong Isr { get; set; }
        /// <summary>Main counter (settable).</summary>
        public ulong MainCounter { get; set; }
        /// <summary>The three timers.</summary>
        public IReadOnlyList<HvmHpetTimer> Timers { get; }
        /// <summary>True when the reserved registers of the general block are zero.</summary>
        public bool ReservedZero { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}{1}, counter {2}, timer0 {3}", Enabled ? "enabled" : "disabled", LegacyRouting ? " (legacy routing)" : string.Empty, Hex(MainCounter), Timers[0].Periodic ? "periodic" : "one-shot");

        // struct hvm_hw_hpet: the registers at their MMIO offsets, the periods at 0x400.
        internal override bool WriteTo(System.Span<byte> p)
        {
            if (p.Length < 0x418)
            {
                return false;
            }

            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x010), Config);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x020), Isr);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x0F0), MainCounter);
            for (int n = 0; n < Timers.Count && n < 3; n++)
            {
                HvmHpetTimer t = Timers[n];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x100 + (0x20 * n)), t.Config);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x108 + (0x20 * n)), t.Comparator);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x110 + (0x20 * n)), t.FsbRoute);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(0x400 + (8 * n)), t.Period);
            }

            return true;
        }
    }

    /// <summary>PMTIMER (13): the ACPI PM timer.</summary>
    public sealed class HvmPmTimerEntry : HvmContextEntry
    {
        internal HvmPmTimerEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            TmrVal = f.U32();
            Pm1aSts = f.U16();
            Pm1aEn = f.U16();
        }
#pragma warning disable CS1591
        public uint TmrVal { get; set; }
        public ushort Pm1aSts { get; set; }
        public ushort Pm1aEn { get; set; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "tmr_val 0x{0:x8}, pm1a_sts 0x{1:x4}, pm1a_en 0x{2:x4}", TmrVal, Pm1aSts, Pm1aEn);
        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U32(p, 0, TmrVal);
            EntryFields.U16(p, 4, Pm1aSts);
            EntryFields.U16(p, 6, Pm1aEn);
            return true;
        }
    }

    /// <summary>VIRIDIAN_DOMAIN (15): Hyper-V enlightenment state of the domain.</summary>
    public sealed class HvmViridianDomainEntry : HvmContextEntry
    {
        internal HvmViridianDomainEntry(in HvmEntrySource s, ref SpanReader f)
            : base(s)
        {
            HypercallGpa = f.U64(); GuestOsId = f.U64(); TimeRefCount = f.U64(); ReferenceTsc = f.U64();
        }
#pragma warning disable CS1591
        public ulong HypercallGpa { get; set; }
        public ulong GuestOsId { get; set; }
        public ulong TimeRefCount { get; set; }
        public ulong ReferenceTsc { get; set; }
#pragma warning restore CS1591

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "guest os id {0}, hypercall page {1}", Hex(GuestOsId), Hex(HypercallGpa));
        /// <inheritdoc/>
        internal override bool WriteTo(System.Span<byte> p)
        {
            EntryFields.U64(p, 0, HypercallGpa);
            EntryFields.U64(p, 8, GuestOsId);
            EntryFields.U64(p, 16, TimeRefCount);
            EntryFields.U64(p, 24, ReferenceTsc);
            return true;
        }
    }
}
