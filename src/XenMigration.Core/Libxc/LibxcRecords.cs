using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libxc
{
    /// <summary>The libxc image header (docs/formats §3.1).</summary>
    public sealed class ImageHeaderRecord : XenStreamRecord
    {
        internal ImageHeaderRecord(in RecordContext context, ulong marker, uint id, uint version, ushort options, ushort reserved1, uint reserved2)
            : base(context)
        {
            Marker = marker;
            Id = id;
            Version = version;
            Options = options;
            Reserved1 = reserved1;
            Reserved2 = reserved2;
        }

        /// <summary>Marker (all ones).</summary>
        public ulong Marker { get; }
        /// <summary>Id ("XENF").</summary>
        public uint Id { get; }
        /// <summary>Stream version: 2 or 3.</summary>
        public uint Version { get; }
        /// <summary>Options word.</summary>
        public ushort Options { get; }
        /// <summary>Options bit 0: big-endian records.</summary>
        public bool IsBigEndian => (Options & LibxcFormat.OptionBigEndian) != 0;
        /// <summary>Options bits 1-15, reserved.</summary>
        public ushort ReservedOptions => (ushort)(Options & ~LibxcFormat.OptionBigEndian);
        /// <summary>Reserved u16 at offset 18.</summary>
        public ushort Reserved1 { get; }
        /// <summary>Reserved u32 at offset 20.</summary>
        public uint Reserved2 { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "v{0}, {1}-endian", Version, IsBigEndian ? "big" : "little");
    }

    /// <summary>The libxc domain header (docs/formats §3.2).</summary>
    public sealed class DomainHeaderRecord : XenStreamRecord
    {
        internal DomainHeaderRecord(in RecordContext context, uint guestType, ushort pageShift, ushort reserved, uint xenMajor, uint xenMinor)
            : base(context)
        {
            GuestType = (XenGuestType)guestType;
            PageShift = pageShift;
            Reserved = reserved;
            XenMajor = xenMajor;
            XenMinor = xenMinor;
        }

        /// <summary>PV or HVM (other values are invalid).</summary>
        public XenGuestType GuestType { get; }
        /// <summary>log2 of the page size (12).</summary>
        public ushort PageShift { get; }
        /// <summary>Reserved u16.</summary>
        public ushort Reserved { get; }
        /// <summary>Xen major version of the saver; 0 for streams made by the legacy converter.</summary>
        public uint XenMajor { get; }
        /// <summary>Xen minor version of the saver (the converter's version for converted streams).</summary>
        public uint XenMinor { get; }
        /// <summary>True when the stream was produced by the legacy converter.</summary>
        public bool IsLegacyConverted => XenMajor == 0;
        /// <summary>
        /// The saver's Xen version as a <see cref="System.Version"/> (4.19 compares above 4.5), or null
        /// for a stream made by the legacy converter (whose version is <see cref="XenMinor"/>).
        /// </summary>
        public Version? XenVersion => IsLegacyConverted ? null : new Version((int)Math.Min(XenMajor, int.MaxValue), (int)Math.Min(XenMinor, int.MaxValue));

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}, Xen {1}", GuestType switch
        {
            XenGuestType.Pv => "PV",
            XenGuestType.Hvm => "HVM",
            _ => "guest type " + ((uint)GuestType).ToString(CultureInfo.InvariantCulture),
        }, IsLegacyConverted ? string.Format(CultureInfo.InvariantCulture, "legacy converter v{0}", XenMinor) : XenVersion!.ToString());
    }

    /// <summary>One entry of a PAGE_DATA record: a PFN and its page type.</summary>
    public readonly struct PageFrame
    {
        /// <summary>Creates an entry from a raw 64-bit PAGE_DATA word.</summary>
        public PageFrame(ulong word) => Word = word;

        /// <summary>The raw word: type in bits 63-60, reserved 59-52, PFN 51-0.</summary>
        public ulong Word { get; }
        /// <summary>The guest frame number.</summary>
        public ulong Pfn => Word & LibxcFormat.PfnMask;
        /// <summary>The page type.</summary>
        public XenPageType Type => (XenPageType)(Word >> LibxcFormat.PageTypeShift);
        /// <summary>Reserved bits 52-59 (must be zero).</summary>
        public uint ReservedBits => (uint)((Word & LibxcFormat.PfnReservedMask) >> 52);
        /// <summary>Whether 4096 bytes of page contents follow for this entry.</summary>
        public bool HasData => LibxcFormat.HasData(Type);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "0x{0:x}:{1}", Pfn, Type);
    }

    /// <summary>PAGE_DATA (0x01): a batch of guest pages (docs/formats §3.4).</summary>
    public sealed class PageDataRecord : XenStreamRecord
    {
        private readonly PageFrame[] _frames;

        internal PageDataRecord(in RecordContext context, uint count, uint reserved, PageFrame[] frames, long dataPageCount, ulong? lastPfn, EntryTally invalidTypes, EntryTally reservedBits)
            : base(context)
        {
            PfnCount = count;
            Reserved = reserved;
            _frames = frames;
            DataPageCount = dataPageCount;
            LastPfn = lastPfn;
            UnkeptInvalidTypes = invalidTypes;
            UnkeptReservedBits = reservedBits;
        }

        // Rule breaks among the entries not kept in Frames (for the verifier).
        internal EntryTally UnkeptInvalidTypes { get; }

        internal EntryTally UnkeptReservedBits { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => _frames.Length < PfnCount;

        /// <summary>Number of PFN entries (not named Count, which would hide PowerShell's own .Count).</summary>
        public uint PfnCount { get; }
        /// <summary>Reserved u32 after the count.</summary>
        public uint Reserved { get; }
        /// <summary>The PFN entries with their page types (the first 65,536 when <see cref="XenStreamRecord.EntriesTruncated"/>).</summary>
        public IReadOnlyList<PageFrame> Frames => _frames;

        // The same entries, for the verifier's per-entry loop.
        internal PageFrame[] FrameArray => _frames;

        /// <summary>Entries whose page contents are in the record.</summary>
        public long DataPageCount { get; }
        /// <summary>Offset of the first page's contents (same as <see cref="XenStreamRecord.PayloadOffset"/>).</summary>
        public long PageDataOffset => PayloadOffset;
        /// <summary>The body length the entries require: 8 + 8·count + 4096·data pages.</summary>
        public long ExpectedLength => 8L + (8L * PfnCount) + ((long)LibxcFormat.PageSize * DataPageCount);
        /// <summary>Lowest PFN in the batch (null when empty).</summary>
        public ulong? FirstPfn => _frames.Length == 0 ? null : _frames[0].Pfn;
        /// <summary>PFN of the last entry in the batch (null when empty).</summary>
        public ulong? LastPfn { get; }

        /// <inheritdoc/>
        public override string Summary => _frames.Length == 0
            ? "0 pfns"
            : string.Format(CultureInfo.InvariantCulture, "{0} pfns 0x{1:x}..0x{2:x}, {3} with data", PfnCount, FirstPfn, LastPfn, DataPageCount);
    }

    /// <summary>X86_PV_INFO (0x02).</summary>
    public sealed class PvInfoRecord : XenStreamRecord
    {
        internal PvInfoRecord(in RecordContext context, byte guestWidth, byte ptLevels, ulong reserved)
            : base(context)
        {
            GuestWidth = guestWidth;
            PtLevels = ptLevels;
            Reserved = reserved;
        }

        /// <summary>Guest word size in bytes: 4 or 8.</summary>
        public byte GuestWidth { get; }
        /// <summary>Page-table levels: 3 or 4.</summary>
        public byte PtLevels { get; }
        /// <summary>The 6 reserved bytes as a number (must be zero).</summary>
        public ulong Reserved { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}-bit guest, {1} levels of pagetables", GuestWidth * 8, PtLevels);
    }

    /// <summary>X86_PV_P2M_FRAMES (0x03).</summary>
    public sealed class PvP2mFramesRecord : XenStreamRecord
    {
        private readonly ulong[] _frames;

        internal PvP2mFramesRecord(in RecordContext context, uint startPfn, uint endPfn, ulong[] frames, long frameCount)
            : base(context)
        {
            StartPfn = startPfn;
            EndPfn = endPfn;
            _frames = frames;
            FrameCount = frameCount;
        }

        /// <summary>Number of frame entries in the record.</summary>
        public long FrameCount { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => _frames.Length < FrameCount;

        /// <summary>First PFN covered.</summary>
        public uint StartPfn { get; }
        /// <summary>Last PFN covered (inclusive).</summary>
        public uint EndPfn { get; }
        /// <summary>Frame numbers of the P2M table pages.</summary>
        public IReadOnlyList<ulong> Frames => _frames;

        /// <summary>The frame count Xen requires for a guest of <paramref name="guestWidth"/> bytes.</summary>
        public long ExpectedFrameCount(int guestWidth)
        {
            long perFrame = LibxcFormat.PageSize / guestWidth;
            return (EndPfn / perFrame) - (StartPfn / perFrame) + 1;
        }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "Start pfn 0x{0:x}, End 0x{1:x}, {2} frames", StartPfn, EndPfn, FrameCount);
    }

    /// <summary>X86_PV_VCPU_BASIC, _EXTENDED, _XSAVE or _MSRS: one vCPU's state blob.</summary>
    public sealed class PvVcpuRecord : XenStreamRecord
    {
        internal PvVcpuRecord(in RecordContext context, uint vcpuId, uint reserved, int? guestWidth)
            : base(context)
        {
            VcpuId = vcpuId;
            Reserved = reserved;
            GuestWidth = guestWidth;
        }

        /// <summary>The guest's width in bytes (4 or 8) from the X86_PV_INFO before this record; null without one.</summary>
        public int? GuestWidth { get; }

        /// <summary>
        /// Reads and decodes the context blob: <see cref="PvVcpuBasicContext"/> (registers, trap table,
        /// control registers, callbacks), <see cref="PvVcpuExtendedContext"/>, <see cref="PvVcpuMsrsContext"/>
        /// (MSRs with names) or <see cref="PvVcpuXsaveContext"/> (XCR0 and the XSAVE header). The
        /// blob is read from the reader while the record is current, else from its file.
        /// </summary>
        /// <exception cref="XenFormatException">The blob does not have its type's layout.</exception>
        public PvVcpuContext ReadContext() => PvVcpuContext.Decode(this, RecordPayload.ReadAll(this, Limits.MaxRecordLength, "vCPU context"));

        /// <summary>The vCPU.</summary>
        public uint VcpuId { get; }
        /// <summary>Reserved u32 (must be zero).</summary>
        public uint Reserved { get; }
        /// <summary>Length of the context blob (the payload).</summary>
        public long ContextLength => PayloadLength;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "vcpu{0} {1}, {2} bytes", VcpuId, Type switch
        {
            XenRecordType.PvVcpuBasic => "basic context",
            XenRecordType.PvVcpuExtended => "extended context",
            XenRecordType.PvVcpuXsave => "xsave state",
            _ => "msrs",
        }, ContextLength);
    }

    /// <summary>A record whose body is an opaque blob: SHARED_INFO, TOOLSTACK, HVM_CONTEXT.</summary>
    public sealed class BlobRecord : XenStreamRecord
    {
        internal BlobRecord(in RecordContext context)
            : base(context)
        {
        }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} bytes", PayloadLength);
    }

    /// <summary>X86_TSC_INFO (0x08).</summary>
    public sealed class TscInfoRecord : XenStreamRecord
    {
        internal TscInfoRecord(in RecordContext context, uint mode, uint khz, ulong nsec, uint incarnation, uint reserved)
            : base(context)
        {
            Mode = (TscMode)mode;
            Khz = khz;
            Nanoseconds = nsec;
            Incarnation = incarnation;
            Reserved = reserved;
        }

        /// <summary>TSC mode.</summary>
        public TscMode Mode { get; }
        /// <summary>TSC frequency in kHz.</summary>
        public uint Khz { get; }
        /// <summary>Elapsed nanoseconds.</summary>
        public ulong Nanoseconds { get; }
        /// <summary>Incarnation.</summary>
        public uint Incarnation { get; }
        /// <summary>Reserved u32.</summary>
        public uint Reserved { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "Mode {0}, {1} kHz, {2} ns, incarnation {3}", (uint)Mode, Khz, Nanoseconds, Incarnation);
    }

    /// <summary>One HVM param of an HVM_PARAMS record.</summary>
    public sealed class HvmParam
    {
        /// <summary>Creates a param entry.</summary>
        public HvmParam(ulong index, ulong value)
        {
            Index = index;
            Value = value;
        }

        /// <summary>Param index.</summary>
        public ulong Index { get; }
        /// <summary>Name from params.h.</summary>
        public string Name => HvmParamNames.NameOf(Index);
        /// <summary>Value.</summary>
        public ulong Value { get; }

        /// <summary>What the value means, for params whose values params.h defines (CALLBACK_IRQ, VIRIDIAN, TIMER_MODE, ALTP2M, ...); null otherwise.</summary>
        public string? Meaning => HvmParamNames.Describe(Index, Value);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}=0x{1:x}", Name, Value);
    }

    /// <summary>HVM_PARAMS (0x0A).</summary>
    public sealed class HvmParamsRecord : XenStreamRecord
    {
        internal HvmParamsRecord(in RecordContext context, uint count, uint reserved, HvmParam[] parameters, EntryTally unknownIndexes)
            : base(context)
        {
            ParamCount = count;
            Reserved = reserved;
            Params = ReadOnlyView.Of(parameters);
            UnkeptUnknownIndexes = unknownIndexes;
        }

        // Params not kept in Params whose index Xen does not define (for the verifier).
        internal EntryTally UnkeptUnknownIndexes { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => Params.Count < ParamCount;

        /// <summary>Entry count (not named Count, which would hide PowerShell's own .Count).</summary>
        public uint ParamCount { get; }
        /// <summary>Reserved u32.</summary>
        public uint Reserved { get; }
        /// <summary>The params in stream order.</summary>
        public IReadOnlyList<HvmParam> Params { get; }

        /// <inheritdoc/>
        public override string Summary => EntriesTruncated
            ? string.Format(CultureInfo.InvariantCulture, "{0} params: {1}, ...", ParamCount, string.Join(", ", Params.Take(8)))
            : string.Join(", ", Params);
    }

    /// <summary>CHECKPOINT_DIRTY_PFN_LIST (0x0F).</summary>
    public sealed class CheckpointDirtyPfnListRecord : XenStreamRecord
    {
        internal CheckpointDirtyPfnListRecord(in RecordContext context, ulong[] pfns, long pfnCount)
            : base(context)
        {
            Pfns = ReadOnlyView.Of(pfns);
            PfnCount = pfnCount;
        }

        /// <summary>The dirty PFNs (the first 65,536 when <see cref="XenStreamRecord.EntriesTruncated"/>).</summary>
        public IReadOnlyList<ulong> Pfns { get; }

        /// <summary>Number of PFNs in the record.</summary>
        public long PfnCount { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => Pfns.Count < PfnCount;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} pfns", PfnCount);
    }

    /// <summary>One CPUID leaf of X86_CPUID_POLICY.</summary>
    public sealed class CpuidLeaf
    {
        /// <summary>Sub-leaf value meaning "no sub-leaf".</summary>
        public const uint NoSubleaf = 0xFFFFFFFF;

        /// <summary>Creates a leaf.</summary>
        public CpuidLeaf(uint leaf, uint subleaf, uint eax, uint ebx, uint ecx, uint edx)
        {
            Leaf = leaf;
            Subleaf = subleaf;
            Eax = eax;
            Ebx = ebx;
            Ecx = ecx;
            Edx = edx;
        }

#pragma warning disable CS1591
        public uint Leaf { get; }
        public uint Subleaf { get; }
        public uint Eax { get; }
        public uint Ebx { get; }
        public uint Ecx { get; }
        public uint Edx { get; }
#pragma warning restore CS1591

        /// <summary>What the leaf reports (e.g. "Structured extended features"), or null for a leaf this module does not name.</summary>
        public string? Name => X86.X86Names.CpuidLeafName(Leaf);

        /// <inheritdoc/>
        public override string ToString() => Subleaf == NoSubleaf
            ? string.Format(CultureInfo.InvariantCulture, "{0:x8}: {1:x8} {2:x8} {3:x8} {4:x8}", Leaf, Eax, Ebx, Ecx, Edx)
            : string.Format(CultureInfo.InvariantCulture, "{0:x8}.{1:x}: {2:x8} {3:x8} {4:x8} {5:x8}", Leaf, Subleaf, Eax, Ebx, Ecx, Edx);
    }

    /// <summary>X86_CPUID_POLICY (0x11).</summary>
    public sealed class CpuidPolicyRecord : XenStreamRecord
    {
        internal CpuidPolicyRecord(in RecordContext context, CpuidLeaf[] leaves, long leafCount)
            : base(context)
        {
            Leaves = ReadOnlyView.Of(leaves);
            LeafCount = leafCount;
        }

        /// <summary>The leaves (the first 65,536 when <see cref="XenStreamRecord.EntriesTruncated"/>).</summary>
        public IReadOnlyList<CpuidLeaf> Leaves { get; }

        /// <summary>Number of leaves in the record.</summary>
        public long LeafCount { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => Leaves.Count < LeafCount;

        /// <summary>The CPU vendor string of leaf 0 (e.g. GenuineIntel, AuthenticAMD); null without leaf 0.</summary>
        public string? Vendor
        {
            get
            {
                foreach (CpuidLeaf l in Leaves)
                {
                    if (l.Leaf == 0)
                    {
                        byte[] text = new byte[12];
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(text.AsSpan(0), l.Ebx);
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(text.AsSpan(4), l.Edx);
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(text.AsSpan(8), l.Ecx);
                        return System.Text.Encoding.ASCII.GetString(text).TrimEnd('\0');
                    }
                }

                return null;
            }
        }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} leaves{1}", LeafCount, Vendor is string v ? ", " + v : string.Empty);
    }

    /// <summary>One MSR of X86_MSR_POLICY.</summary>
    public sealed class MsrEntry
    {
        /// <summary>Creates an entry.</summary>
        public MsrEntry(uint index, uint flags, ulong value)
        {
            Index = index;
            Flags = flags;
            Value = value;
        }

        /// <summary>MSR index.</summary>
        public uint Index { get; }
        /// <summary>Flags (reserved, 0).</summary>
        public uint Flags { get; }
        /// <summary>Value.</summary>
        public ulong Value { get; }

        /// <summary>The MSR's architectural name (e.g. ARCH_CAPABILITIES, PLATFORM_INFO).</summary>
        public string Name => X86.X86Names.MsrName(Index);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} (0x{1:x})=0x{2:x}", Name, Index, Value);
    }

    /// <summary>X86_MSR_POLICY (0x12).</summary>
    public sealed class MsrPolicyRecord : XenStreamRecord
    {
        internal MsrPolicyRecord(in RecordContext context, MsrEntry[] entries, long entryCount, EntryTally flagsSet)
            : base(context)
        {
            Entries = ReadOnlyView.Of(entries);
            EntryCount = entryCount;
            UnkeptFlagsSet = flagsSet;
        }

        /// <summary>The entries (the first 65,536 when <see cref="XenStreamRecord.EntriesTruncated"/>).</summary>
        public IReadOnlyList<MsrEntry> Entries { get; }

        /// <summary>Number of entries in the record.</summary>
        public long EntryCount { get; }

        // Entries not kept in Entries whose reserved flags are set (for the verifier).
        internal EntryTally UnkeptFlagsSet { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => Entries.Count < EntryCount;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} MSRs", EntryCount);
    }
}
