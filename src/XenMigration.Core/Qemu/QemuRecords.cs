using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>
    /// One top-level record of a QEMU migration stream, as <see cref="QemuStreamReader"/> produces it:
    /// the configuration, a section (device or RAM chunk), a command, or the end.
    /// </summary>
    public abstract class QemuRecord
    {
        private protected QemuRecord(string? filePath, long offset, long length)
        {
            FilePath = filePath;
            Offset = offset;
            Length = length;
        }

        /// <summary>The file the record was read from (null for an unnamed stream).</summary>
        public string? FilePath { get; }

        /// <summary>Byte offset of the record's type byte in the input (for a libvirt image or a
        /// Xen record: in the file, not in the embedded stream).</summary>
        public long Offset { get; }

        /// <summary>Bytes of the record, type byte and footer included.</summary>
        public long Length { get; }
    }

    /// <summary>The CONFIGURATION record (0x07): machine type and the configuration subsections.</summary>
    public sealed class QemuConfigurationRecord : QemuRecord
    {
        internal QemuConfigurationRecord(string? filePath, long offset, long length, string machineType, IReadOnlyList<string> capabilities, uint? targetPageBits, Guid? uuid)
            : base(filePath, offset, length)
        {
            MachineType = machineType;
            Capabilities = ReadOnlyView.Of(capabilities);
            TargetPageBits = targetPageBits;
            Uuid = uuid;
        }

        /// <summary>The machine type, e.g. <c>pc-i440fx-7.2</c>.</summary>
        public string MachineType { get; }

        /// <summary>Validated migration capabilities sent with the stream (e.g. <c>x-ignore-shared</c>).</summary>
        public IReadOnlyList<string> Capabilities { get; }

        /// <summary>Target page bits, when the stream says (never on x86).</summary>
        public uint? TargetPageBits { get; }

        /// <summary>The VM's UUID, when the validate-uuid parameter was set.</summary>
        public Guid? Uuid { get; }

        /// <inheritdoc/>
        public override string ToString() => "Configuration " + MachineType;
    }

    /// <summary>
    /// One section: a device's state (FULL), or a chunk of an iterative section (START/PART/END, e.g.
    /// RAM). With the stream's JSON description, or for a device the built-in table knows, the body is
    /// decoded into <see cref="State"/>; otherwise it is given raw by offset and length.
    /// </summary>
    public sealed class QemuSection : QemuRecord
    {
        internal QemuSection(string? filePath, long offset, long length, QemuSectionKind kind, uint sectionId, string idStr, uint instanceId, uint versionId, long bodyOffset, long bodyLength, bool hasFooter, QemuDecodeSource decodedFrom, QemuVmState? state, QemuRamChunk? ram, string? note)
            : base(filePath, offset, length)
        {
            Kind = kind;
            SectionId = sectionId;
            IdStr = idStr;
            InstanceId = instanceId;
            VersionId = versionId;
            BodyOffset = bodyOffset;
            BodyLength = bodyLength;
            HasFooter = hasFooter;
            DecodedFrom = decodedFrom;
            State = state;
            Ram = ram;
            Note = note;
        }

        /// <summary>START, PART, END or FULL.</summary>
        public QemuSectionKind Kind { get; }

        /// <summary>The section id (per stream; not stable across configurations).</summary>
        public uint SectionId { get; }

        /// <summary>The handler's name, e.g. <c>ram</c>, <c>cpu</c>, <c>0000:00:01.1/ide</c>.</summary>
        public string IdStr { get; }

        /// <summary>Distinguishes same-named devices (<c>cpu</c> 0, 1, ...).</summary>
        public uint InstanceId { get; }

        /// <summary>The version of the saved state.</summary>
        public uint VersionId { get; }

        /// <summary>Byte offset of the body in the input.</summary>
        public long BodyOffset { get; }

        /// <summary>Bytes of the body.</summary>
        public long BodyLength { get; }

        /// <summary>True when a section footer (0x7E + id) closes the section.</summary>
        public bool HasFooter { get; }

        /// <summary>Where the decoded fields came from.</summary>
        public QemuDecodeSource DecodedFrom { get; }

        /// <summary>The decoded state (fields, subsections); null for RAM and raw sections.</summary>
        public QemuVmState? State { get; }

        /// <summary>The fields of <see cref="State"/>, or an empty list.</summary>
        public IReadOnlyList<QemuField> Fields => State?.Fields ?? Array.Empty<QemuField>();

        /// <summary>The subsections of <see cref="State"/>, or an empty list.</summary>
        public IReadOnlyList<QemuVmState> Subsections => State?.Subsections ?? Array.Empty<QemuVmState>();

        /// <summary>Page counts of a RAM chunk; null for other sections.</summary>
        public QemuRamChunk? Ram { get; }

        /// <summary>Why the body is raw, when it is; null otherwise.</summary>
        public string? Note { get; }

        /// <summary>The named field's value (see <see cref="QemuVmState.GetValue"/>); null when not decoded.</summary>
        public object? GetValue(string name) => State?.GetValue(name);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} {1}[{2}] v{3} @0x{4:X} len {5}", Kind, IdStr, InstanceId, VersionId, Offset, Length);
    }

    /// <summary>A COMMAND record (0x08).</summary>
    public sealed class QemuCommandRecord : QemuRecord
    {
        internal QemuCommandRecord(string? filePath, long offset, long length, ushort command, ushort dataLength)
            : base(filePath, offset, length)
        {
            Command = command;
            DataLength = dataLength;
        }

        /// <summary>The command number.</summary>
        public ushort Command { get; }

        /// <summary>The command's name (OPEN_RETURN_PATH, PING, POSTCOPY_ADVISE, ...).</summary>
        public string Name => QemuFormat.CommandName(Command);

        /// <summary>Bytes of command data.</summary>
        public ushort DataLength { get; }
    }

    /// <summary>Page-record counts of one RAM chunk (START/PART/END body).</summary>
    public sealed class QemuRamChunk
    {
        internal QemuRamChunk(long zeroPages, long pages, long compressedPages, long xbzrlePages, long fillPages, long flushes, int blockListEntries)
        {
            ZeroPages = zeroPages;
            Pages = pages;
            CompressedPages = compressedPages;
            XbzrlePages = xbzrlePages;
            FillPages = fillPages;
            MultifdFlushes = flushes;
            BlockListEntries = blockListEntries;
        }

        /// <summary>ZERO records (pages filled with one byte, normally 0).</summary>
        public long ZeroPages { get; }

        /// <summary>PAGE records (raw page contents).</summary>
        public long Pages { get; }

        /// <summary>COMPRESS_PAGE records (zlib; the compress capability).</summary>
        public long CompressedPages { get; }

        /// <summary>XBZRLE records (delta against the previous copy of the page).</summary>
        public long XbzrlePages { get; }

        /// <summary>ZERO records with a fill byte other than 0 (ancient QEMU).</summary>
        public long FillPages { get; }

        /// <summary>MULTIFD_FLUSH markers.</summary>
        public long MultifdFlushes { get; }

        /// <summary>Blocks in a MEM_SIZE list (in the START chunk).</summary>
        public int BlockListEntries { get; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} pages, {1} zero, {2} compressed, {3} xbzrle", Pages, ZeroPages, CompressedPages, XbzrlePages);
    }

    /// <summary>One RAM block of the stream, summarised over all chunks: one object per block, not per page.</summary>
    public sealed class QemuRamBlock
    {
        internal QemuRamBlock(string? filePath, int index, string name, long length)
        {
            FilePath = filePath;
            Index = index;
            Name = name;
            Length = length;
        }

        /// <summary>The file the stream was read from.</summary>
        public string? FilePath { get; }

        /// <summary>Position of the block in the MEM_SIZE list.</summary>
        public int Index { get; }

        /// <summary>The RAMBlock name, e.g. <c>pc.ram</c>, <c>pc.bios</c>, <c>/rom@etc/acpi/tables</c>.</summary>
        public string Name { get; }

        /// <summary>The block's used length in bytes.</summary>
        public long Length { get; }

        /// <summary>
        /// Guest-physical base address: the address the stream gives (x-ignore-shared), or the
        /// machine type's fixed address for pc.ram, pc.bios and pc.rom; null when not known.
        /// </summary>
        public ulong? Address { get; internal set; }

        /// <summary>Where <see cref="Address"/> comes from: Stream, MachineType, or null.</summary>
        public string? AddressSource { get; internal set; }

        /// <summary>Bytes of pc.ram mapped below 4 GiB (the rest is at 4 GiB); null for other blocks.</summary>
        public long? LowMemory { get; internal set; }

        /// <summary>ZERO records for this block.</summary>
        public long ZeroPages { get; internal set; }

        /// <summary>PAGE records for this block.</summary>
        public long Pages { get; internal set; }

        /// <summary>COMPRESS_PAGE records for this block.</summary>
        public long CompressedPages { get; internal set; }

        /// <summary>XBZRLE records for this block.</summary>
        public long XbzrlePages { get; internal set; }

        /// <summary>Page records of all kinds; more than Length / 4096 when pages were re-sent.</summary>
        public long PageRecords => ZeroPages + Pages + CompressedPages + XbzrlePages;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} ({1} bytes)", Name, Length);
    }

    /// <summary>Guest memory read from a stream by <see cref="QemuStreamReader.ReadMemory"/>.</summary>
    public sealed class QemuMemoryRange
    {
        private readonly byte[] _bytes;

        internal QemuMemoryRange(string? filePath, ulong address, string? blockName, long blockOffset, byte[] bytes, long missingBytes)
        {
            FilePath = filePath;
            Address = address;
            BlockName = blockName;
            BlockOffset = blockOffset;
            _bytes = bytes;
            MissingBytes = missingBytes;
        }

        /// <summary>The file the stream was read from.</summary>
        public string? FilePath { get; }

        /// <summary>The first guest-physical address (for a block read: the block offset).</summary>
        public ulong Address { get; }

        /// <summary>The RAM block, when a single block holds the whole range.</summary>
        public string? BlockName { get; }

        /// <summary>Offset of the range in <see cref="BlockName"/>.</summary>
        public long BlockOffset { get; }

        /// <summary>
        /// The guest-physical address of the first byte: the requested address, or for a block read
        /// where the block sits (pc.ram, pc.bios, pc.rom); null for blocks whose place the stream does not say (video RAM, option ROMs).
        /// </summary>
        public ulong? PhysicalAddress { get; internal set; }

        /// <summary>Bytes read.</summary>
        public int Length => _bytes.Length;

        /// <summary>Bytes of the range no page record covers (or outside every mapped block); read as zero.</summary>
        public long MissingBytes { get; }

        /// <summary>The bytes (a copy).</summary>
        public ReadOnlyBytes Bytes => new ReadOnlyBytes(_bytes);

        /// <summary>A copy of the bytes (for APIs that take an array).</summary>
        public byte[] ToArray() => (byte[])_bytes.Clone();

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "0x{0:X} ({1} bytes)", Address, Length);
    }
}
