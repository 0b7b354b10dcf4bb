using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using XenMigration.Framing;
using XenMigration.X86;

namespace XenMigration.Memory
{
    /// <summary>The guest-physical ranges an export covers: sorted, disjoint, page-aligned.</summary>
    internal sealed class GuestMemoryLayout
    {
        private readonly List<(ulong Start, ulong Length)> _ranges;

        public GuestMemoryLayout(IEnumerable<(ulong Start, ulong Length)> ranges)
        {
            var sorted = new List<(ulong Start, ulong Length)>();
            foreach (var r in ranges)
            {
                if (r.Length > ulong.MaxValue - r.Start)
                {
                    throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "A memory range at 0x{0:x} of 0x{1:x} bytes passes the end of the 64-bit address space.", r.Start, r.Length), 0);
                }

                if (r.Length > 0)
                {
                    sorted.Add(r);
                }
            }

            sorted.Sort((a, b) => a.Start.CompareTo(b.Start));
            _ranges = new List<(ulong, ulong)>();
            foreach (var r in sorted)
            {
                // Merge touching or overlapping ranges: one PT_LOAD per contiguous range.
                if (_ranges.Count > 0 && _ranges[_ranges.Count - 1].Start + _ranges[_ranges.Count - 1].Length >= r.Start)
                {
                    var last = _ranges[_ranges.Count - 1];
                    ulong end = Math.Max(last.Start + last.Length, r.Start + r.Length);
                    _ranges[_ranges.Count - 1] = (last.Start, end - last.Start);
                }
                else
                {
                    _ranges.Add(r);
                }
            }
        }

        public IReadOnlyList<(ulong Start, ulong Length)> Ranges => _ranges;

        /// <summary>End of the highest range (the raw image's length).</summary>
        public ulong End => _ranges.Count == 0 ? 0 : _ranges[_ranges.Count - 1].Start + _ranges[_ranges.Count - 1].Length;

        /// <summary>The range holding <paramref name="gpa"/>, or -1.</summary>
        public int Find(ulong gpa)
        {
            int lo = 0, hi = _ranges.Count - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                var r = _ranges[mid];
                if (gpa < r.Start)
                {
                    hi = mid - 1;
                }
                else if (gpa - r.Start >= r.Length)
                {
                    lo = mid + 1;
                }
                else
                {
                    return mid;
                }
            }

            return -1;
        }
    }

    /// <summary>What goes into an ELF core's notes besides memory.</summary>
    internal sealed class GuestMachineState
    {
        public List<X86Registers> Vcpus { get; } = new List<X86Registers>();

        /// <summary>Where the guest's own VMCOREINFO ELF note is (guest-physical), when known.</summary>
        public ulong? VmcoreInfoAddress { get; set; }

        /// <summary>Its size in bytes (the whole note), when known.</summary>
        public uint VmcoreInfoSize { get; set; }
    }

    /// <summary>
    /// Writes guest pages into a sparse output file as a source delivers them, in any order and more
    /// than once (the last copy wins). Zero pages stay holes unless a page written earlier must be
    /// cleared. The ELF writer needs the layout before the first page; the raw writer does not.
    /// </summary>
    internal abstract class GuestMemoryWriter
    {
        protected const int PageSize = 4096;
        private static readonly byte[] s_zero = new byte[PageSize];
        private readonly PageBitmap _written = new PageBitmap();
        private readonly Stream _file;
        private readonly byte[] _scratch = new byte[PageSize];
        private ulong _highest;

        protected GuestMemoryWriter(Stream file) => _file = file;

        public GuestMemoryLayout? Layout { get; private set; }

        public long DataPages { get; private set; }

        public long ZeroPages { get; private set; }

        public virtual void Begin(GuestMemoryLayout? layout) => Layout = layout;

        /// <summary>File offset of a guest page, or -1 when it is outside what the file holds.</summary>
        protected abstract long OffsetOf(ulong gpa);

        /// <summary>Writes a page; false when the address is outside the export.</summary>
        public bool Page(ulong gpa, ReadOnlySpan<byte> data)
        {
            long offset = OffsetOf(gpa);
            if (offset < 0)
            {
                return false;
            }

            ulong page = gpa >> 12;
            if (!_written.Get(page))
            {
                DataPages++;
                _written.Set(page, true);
            }

            if (_file.Position != offset)
            {
                _file.Position = offset;
            }

            data.Slice(0, PageSize).CopyTo(_scratch);
            _file.Write(_scratch, 0, PageSize);
            if (VmcoreInfoAddress is null)
            {
                FindVmcoreInfo(gpa, _scratch);
            }
            _highest = Math.Max(_highest, gpa + PageSize);
            return true;
        }

        /// <summary>Writes consecutive pages in one write (a run of frames read in one piece).</summary>
        public void Pages(ulong gpa, byte[] data, int count)
        {
            long offset = OffsetOf(gpa);
            ulong last = gpa + ((ulong)(count - 1) * PageSize);
            if (count == 1 || offset < 0 || OffsetOf(last) != offset + ((long)(count - 1) * PageSize))
            {
                for (int i = 0; i < count; i++)
                {
                    Page(gpa + ((ulong)i * PageSize), data.AsSpan(i * PageSize, PageSize));
                }

                return;
            }

            for (int i = 0; i < count; i++)
            {
                ulong page = (gpa >> 12) + (ulong)i;
                if (!_written.Get(page))
                {
                    DataPages++;
                    _written.Set(page, true);
                }

                if (VmcoreInfoAddress is null)
                {
                    FindVmcoreInfo(gpa + ((ulong)i * PageSize), data.AsSpan(i * PageSize, PageSize));
                }
            }

            if (_file.Position != offset)
            {
                _file.Position = offset;
            }

            _file.Write(data, 0, count * PageSize);
            _highest = Math.Max(_highest, last + PageSize);
        }

        /// <summary>A zero page: a hole, or zeros over a copy written before.</summary>
        public void Zero(ulong gpa)
        {
            long offset = OffsetOf(gpa);
            if (offset < 0)
            {
                return;
            }

            ulong page = gpa >> 12;
            if (_written.Get(page))
            {
                _file.Position = offset;
                _file.Write(s_zero, 0, PageSize);
                _written.Set(page, false);
                DataPages--;
            }

            ZeroPages++;
            _highest = Math.Max(_highest, gpa + PageSize);
        }

        /// <summary>Where the guest's VMCOREINFO ELF note was seen (guest-physical), and its size.</summary>
        public ulong? VmcoreInfoAddress { get; private set; }

        public uint VmcoreInfoSize { get; private set; }

        private static readonly byte[] s_vmcoreInfoName = System.Text.Encoding.ASCII.GetBytes("VMCOREINFO\0");

        // The kernel keeps its VMCOREINFO as an ELF note (vmcoreinfo_note): an aligned header with
        // namesz 11, the name, then text starting "OSRELEASE=". Its raw text copy has no header.
        private void FindVmcoreInfo(ulong gpa, ReadOnlySpan<byte> page)
        {
            int from = 0;
            while (from < PageSize)
            {
                int i = page.Slice(from).IndexOf(s_vmcoreInfoName);
                if (i < 0)
                {
                    return;
                }

                int name = from + i;
                int start = name - 12;
                if (start >= 0 && (start & 3) == 0 && name + 12 + 10 <= PageSize && ElfNotes.IsVmcoreInfo(page.Slice(start)))
                {
                    VmcoreInfoAddress = gpa + (ulong)start;
                    VmcoreInfoSize = ElfNotes.SizeOf(page.Slice(start));
                    return;
                }

                from = name + 1;
            }
        }

        /// <summary>The current contents of a page (zeros when never written), for deltas.</summary>
        public void ReadBack(ulong gpa, Span<byte> page)
        {
            long offset = OffsetOf(gpa);
            page.Clear();
            if (offset < 0 || !_written.Get(gpa >> 12))
            {
                return;
            }

            _file.Flush();
            _file.Position = offset;
            byte[] buffer = new byte[PageSize];
            int done = 0;
            while (done < PageSize)
            {
                int n = _file.Read(buffer, done, PageSize - done);
                if (n == 0)
                {
                    break;
                }

                done += n;
            }

            buffer.AsSpan().CopyTo(page);
        }

        /// <summary>Finishes the file (length, headers, notes); returns its apparent length.</summary>
        public abstract long End(GuestMachineState state);

        protected Stream File => _file;

        protected ulong Highest => _highest;
    }

    /// <summary>A flat sparse image: file offset = guest-physical address.</summary>
    internal sealed class RawMemoryWriter : GuestMemoryWriter
    {
        public RawMemoryWriter(Stream file)
            : base(file)
        {
        }

        protected override long OffsetOf(ulong gpa)
        {
            if (Layout is not null && Layout.Find(gpa) < 0)
            {
                return -1;
            }

            return gpa > long.MaxValue - PageSize ? -1 : (long)gpa;
        }

        public override long End(GuestMachineState state)
        {
            long length = (long)Math.Max(Layout?.End ?? 0, Highest);
            if (File.Length < length)
            {
                File.SetLength(length);   // trailing zero pages stay holes
            }

            File.Flush();
            return File.Length;
        }
    }

    /// <summary>
    /// A raw image of one guest-physical range [address, address + length): byte i of the file is
    /// the guest's byte at address + i, holes where the guest has no memory or zero pages. Pages are
    /// handed over whole; the cropping stream below keeps only the bytes inside the range, so the
    /// range need not be page-aligned and may be larger than memory can hold.
    /// </summary>
    internal sealed class RangeMemoryWriter : GuestMemoryWriter
    {
        private readonly ulong _first;   // the range's first page
        private readonly ulong _end;     // one past its last byte (saturated at the top of the space)
        private readonly long _length;
        private readonly CroppingStream _crop;

        public RangeMemoryWriter(Stream file, ulong address, long length)
            : this(new CroppingStream(file, (long)(address & 0xFFF), length), address, length)
        {
        }

        private RangeMemoryWriter(CroppingStream crop, ulong address, long length)
            : base(crop)
        {
            _crop = crop;
            _first = address & ~0xFFFUL;
            _end = address > ulong.MaxValue - (ulong)length ? ulong.MaxValue : address + (ulong)length;
            _length = length;
        }

        /// <summary>True when a run of pages overlaps the range (the others need not even be read).</summary>
        public bool Wants(ulong gpa, int count) => gpa < _end && (gpa >= _first || _first - gpa < (ulong)count * PageSize);

        protected override long OffsetOf(ulong gpa)
        {
            if (!Wants(gpa, 1) || (Layout is not null && Layout.Find(gpa) < 0))
            {
                return -1;
            }

            return (long)(gpa - _first);
        }

        public override long End(GuestMachineState state)
        {
            _crop.Inner.SetLength(_length);   // trailing holes
            _crop.Inner.Flush();
            return _length;
        }
    }

    /// <summary>
    /// A write-only view of a file shifted by <c>skip</c> bytes and cut at <c>length</c>: writes
    /// before the start or past the end are dropped (the partial pages at the ends of a range).
    /// </summary>
    internal sealed class CroppingStream : Stream
    {
        private readonly long _skip;
        private readonly long _length;
        private long _position;

        public CroppingStream(Stream inner, long skip, long length)
        {
            Inner = inner;
            _skip = skip;
            _length = length;
        }

        public Stream Inner { get; }

        public override bool CanRead => false;

        public override bool CanSeek => true;

        public override bool CanWrite => true;

        public override long Length => _skip + Inner.Length;

        public override long Position
        {
            get => _position;
            set => _position = value;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            long from = Math.Max(_position, _skip), to = Math.Min(_position + count, _skip + _length);
            if (to > from)
            {
                Inner.Position = from - _skip;
                Inner.Write(buffer, offset + (int)(from - _position), (int)(to - from));
            }

            _position += count;
        }

        public override void SetLength(long value) => Inner.SetLength(Math.Min(Math.Max(0, value - _skip), _length));

        public override void Flush() => Inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
    }

    /// <summary>
    /// An ELF64 core in the layout crash, makedumpfile, gdb and drgn read (the kernel's vmcore):
    /// the ELF header, then the program headers with PT_NOTE first and one PT_LOAD per contiguous
    /// range (p_vaddr = p_paddr = guest-physical address), then the notes (NT_PRSTATUS and QEMU's
    /// CPU-state note per vCPU, the guest's VMCOREINFO), then the ranges' bytes (zero pages are
    /// holes inside them). crash reads everything before the first PT_LOAD as the header, so the
    /// notes must come before the memory; they are only known at the end (a QEMU stream's vCPUs
    /// follow its RAM), so room for them is reserved (a hole in the sparse file) and filled last.
    /// Unlike QEMU 7.2's own dump, there are no section headers before the program headers
    /// (makedumpfile 1.7.2 cannot find the PT_LOADs of that layout).
    /// </summary>
    internal sealed class ElfCoreWriter : GuestMemoryWriter
    {
        private const int EhdrSize = 64, PhdrSize = 56;

        /// <summary>Room for the notes: 4,096 vCPUs (808 bytes each) and a VMCOREINFO of up to 64 KiB.</summary>
        internal const int NoteReserve = 4 << 20;

        private long[] _offsets = Array.Empty<long>();
        private long _notesAt;

        public ElfCoreWriter(Stream file)
            : base(file)
        {
        }

        public override void Begin(GuestMemoryLayout? layout)
        {
            if (layout is null)
            {
                throw new InvalidOperationException("An ELF core needs its memory ranges before its pages.");
            }

            if (layout.Ranges.Count > 0xFFFE)
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The guest memory has {0} separate ranges, more than an ELF core's 65,534 program headers; export it as raw.", layout.Ranges.Count), 0);
            }

            base.Begin(layout);
            _notesAt = Align(EhdrSize + ((long)PhdrSize * (layout.Ranges.Count + 1)), PageSize);
            long at = _notesAt + NoteReserve;
            _offsets = new long[layout.Ranges.Count];
            for (int i = 0; i < _offsets.Length; i++)
            {
                _offsets[i] = at;
                at = checked(at + (long)layout.Ranges[i].Length);
            }

            if (File.Length < at)
            {
                File.SetLength(at);   // the whole file, holes included, before the pages fill it
            }
        }

        protected override long OffsetOf(ulong gpa)
        {
            int i = Layout!.Find(gpa);
            return i < 0 ? -1 : _offsets[i] + (long)(gpa - Layout.Ranges[i].Start);
        }

        public override long End(GuestMachineState state)
        {
            byte[] notes = ElfNotes.Build(state, this);
            if (notes.Length > NoteReserve)
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The ELF notes of {0} vCPUs take {1} bytes, more than the {2} reserved for them.", state.Vcpus.Count, notes.Length, NoteReserve), 0);
            }

            File.Position = _notesAt;
            File.Write(notes, 0, notes.Length);

            var header = new byte[EhdrSize + (PhdrSize * (Layout!.Ranges.Count + 1))];
            Span<byte> h = header;
            h[0] = 0x7F; h[1] = (byte)'E'; h[2] = (byte)'L'; h[3] = (byte)'F';
            h[4] = 2; h[5] = 1; h[6] = 1;                                          // ELFCLASS64, little-endian, EV_CURRENT
            BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(16), 4);              // ET_CORE
            BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(18), 62);             // EM_X86_64
            BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(20), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(h.Slice(32), EhdrSize);       // e_phoff
            BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(52), EhdrSize);
            BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(54), PhdrSize);
            BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(56), (ushort)(Layout.Ranges.Count + 1));
            Phdr(h.Slice(EhdrSize), 4, 0, _notesAt, 0, (ulong)notes.Length, 0);   // PT_NOTE
            for (int i = 0; i < Layout.Ranges.Count; i++)
            {
                var r = Layout.Ranges[i];
                // PT_LOAD, RWX, p_align 0 as the kernel's /proc/vmcore and QEMU write it: crash takes an
                // aligned core for the old netdump format and then finds no VMCOREINFO in it.
                Phdr(h.Slice(EhdrSize + (PhdrSize * (i + 1))), 1, 7, _offsets[i], r.Start, r.Length, 0);
            }

            File.Position = 0;
            File.Write(header, 0, header.Length);
            File.Flush();
            return File.Length;
        }

        // The guest's own VMCOREINFO note, read back from what was written.
        internal byte[]? ReadGuest(ulong gpa, uint length)
        {
            long offset = OffsetOf(gpa);
            if (offset < 0 || length == 0 || length > 1 << 20 || OffsetOf(gpa + length - 1) != offset + length - 1)
            {
                return null;
            }

            File.Flush();
            File.Position = offset;
            byte[] b = new byte[length];
            int done = 0;
            while (done < b.Length)
            {
                int n = File.Read(b, done, b.Length - done);
                if (n == 0)
                {
                    return null;
                }

                done += n;
            }

            return b;
        }

        private static void Phdr(Span<byte> p, uint type, uint flags, long offset, ulong address, ulong size, ulong align)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(p, type);
            BinaryPrimitives.WriteUInt32LittleEndian(p.Slice(4), flags);
            BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(8), (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(16), address);        // p_vaddr
            BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(24), address);        // p_paddr
            BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(32), size);           // p_filesz
            BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(40), size);           // p_memsz
            BinaryPrimitives.WriteUInt64LittleEndian(p.Slice(48), align);
        }

        private static long Align(long v, long a) => (v + a - 1) / a * a;
    }
}
