using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.Memory
{
    /// <summary>What a guest page is in an image.</summary>
    public enum GuestMemoryKind
    {
        /// <summary>Its contents are in the image.</summary>
        Data,
        /// <summary>All zero: a QEMU zero page, or a Xen XALLOC page (allocated, never written).</summary>
        Zero,
        /// <summary>Listed without contents and not memory: Xen XTAB (not in the P2M) or BROKEN pages.</summary>
        Absent,
    }

    /// <summary>The file formats guest memory is exported in.</summary>
    public enum GuestMemoryFormat
    {
        /// <summary>A flat, sparse image: the byte at file offset N is guest-physical address N.</summary>
        Raw,
        /// <summary>An ELF64 core (vmcore layout): PT_NOTE first, one PT_LOAD per contiguous RAM range.</summary>
        Elf,
    }

    /// <summary>A run of consecutive guest pages of one kind (Get-XenMemory without -Pfn or -Address).</summary>
    public sealed class GuestMemoryRun
    {
        internal GuestMemoryRun(string? filePath, ulong startPfn, long pageCount, GuestMemoryKind kind)
        {
            FilePath = filePath;
            StartPfn = startPfn;
            PageCount = pageCount;
            Kind = kind;
        }

        /// <summary>The image the run was read from.</summary>
        public string? FilePath { get; }

        /// <summary>First page frame number (guest-physical for HVM, pseudo-physical for PV).</summary>
        public ulong StartPfn { get; }

        /// <summary>Pages in the run.</summary>
        public long PageCount { get; }

        /// <summary>What the pages are.</summary>
        public GuestMemoryKind Kind { get; }

        /// <summary>Address of the first byte (StartPfn × 4096).</summary>
        public ulong Address => StartPfn << 12;

        /// <summary>Bytes in the run.</summary>
        public long Length => PageCount * 4096;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "pfn 0x{0:x}-0x{1:x} ({2} pages, {3})", StartPfn, StartPfn + (ulong)PageCount - 1, PageCount, Kind);
    }

    /// <summary>Guest memory read from a Xen image (Get-XenMemory -Pfn or -Address).</summary>
    public sealed class GuestMemoryRange
    {
        private readonly byte[] _bytes;

        internal GuestMemoryRange(string? filePath, ulong address, byte[] bytes, long missingBytes)
        {
            FilePath = filePath;
            Address = address;
            _bytes = bytes;
            MissingBytes = missingBytes;
        }

        /// <summary>The image the bytes were read from.</summary>
        public string? FilePath { get; }

        /// <summary>Address of the first byte (PFN × 4096 + offset).</summary>
        public ulong Address { get; }

        /// <summary>Page frame number of the first byte.</summary>
        public ulong Pfn => Address >> 12;

        /// <summary>Bytes read.</summary>
        public int Length => _bytes.Length;

        /// <summary>Bytes of the range no page of the image covers (read as zero).</summary>
        public long MissingBytes { get; }

        /// <summary>The bytes (a read-only view).</summary>
        public ReadOnlyBytes Bytes => new ReadOnlyBytes(_bytes);

        /// <summary>A copy of the bytes (for APIs that take an array).</summary>
        public byte[] ToArray() => (byte[])_bytes.Clone();

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "0x{0:x} ({1} bytes)", Address, Length);
    }

    /// <summary>What Export-GuestMemory wrote.</summary>
    public sealed class GuestMemoryExportResult
    {
        internal GuestMemoryExportResult(string source, string destination, GuestMemoryFormat format)
        {
            Source = source;
            Destination = destination;
            Format = format;
        }

        /// <summary>The image read.</summary>
        public string Source { get; }

        /// <summary>The file written.</summary>
        public string Destination { get; }

        /// <summary>Raw or ELF.</summary>
        public GuestMemoryFormat Format { get; }

        /// <summary>Pages whose contents were written.</summary>
        public long DataPages { get; internal set; }

        /// <summary>Zero pages (left as holes in the sparse output).</summary>
        public long ZeroPages { get; internal set; }

        /// <summary>Memory ranges (PT_LOAD segments in an ELF core).</summary>
        public int Ranges { get; internal set; }

        /// <summary>vCPUs whose registers went into the notes (ELF).</summary>
        public int Vcpus { get; internal set; }

        /// <summary>Whether the guest's VMCOREINFO note was found and copied (ELF).</summary>
        public bool HasVmcoreInfo { get; internal set; }

        /// <summary>The apparent size of the file written (holes included).</summary>
        public long FileLength { get; internal set; }
    }
}
