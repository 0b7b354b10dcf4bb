using System.Globalization;
using XenMigration.Framing;

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

        /// <summary>
        /// Writes the entry's settable values back into <paramref name="payload"/>, its own bytes in
        /// the record (same length: only values change). False when this kind of entry is not writable.
        /// </summary>
        internal virtual bool WriteTo(System.Span<byte> payload) => false;

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
        public ReadOnlyBytes Data => new ReadOnlyBytes(_data);

        /// <summary>True when the entry is longer than the 64 KiB kept in <see cref="Data"/>.</summary>
        public bool DataTruncated => _data.Length < Length;

        /// <inheritdoc/>
        public override string Summary => _data.Length.ToString(CultureInfo.InvariantCulture) + " bytes, not decoded";
    }

    /// <summary>HEADER (1).</summary>
    public sealed class HvmHeaderEntry : HvmContextEntry
    {
        internal HvmHeaderEntry(in HvmEntrySource s, ref SpanReader f)
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

    /// <summary>
    /// Little-endian field writes for entries' WriteTo: a field past the end of a shorter (older)
    /// entry is not in the image, so it is not written.
    /// </summary>
    internal static class EntryFields
    {
        public static void U8(System.Span<byte> p, int at, byte v)
        {
            if (at < p.Length)
            {
                p[at] = v;
            }
        }

        public static void U16(System.Span<byte> p, int at, ushort v)
        {
            if (at + 2 <= p.Length)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(p.Slice(at), v);
            }
        }

        public static void U32(System.Span<byte> p, int at, uint v)
        {
            if (at + 4 <= p.Length)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(p.Slice(at), v);
            }
        }

        public static void U64(System.Span<byte> p, int at, ulong v)
        {
            if (at + 8 <= p.Length)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(at), v);
            }
        }

        public static void I64(System.Span<byte> p, int at, long v) => U64(p, at, unchecked((ulong)v));
    }
}
