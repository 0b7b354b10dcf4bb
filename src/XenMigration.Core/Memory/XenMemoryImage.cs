using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Libxc;
using XenMigration.Records;
using XenMigration.X86;
using XenMigration.XenStream;

namespace XenMigration.Memory
{
    /// <summary>Options of <see cref="XenMemoryImage.Scan"/>.</summary>
    internal sealed class XenMemoryOptions
    {
        /// <summary>Stop at the end of this checkpoint (1-based); null: the last complete one.</summary>
        public int? Checkpoint { get; set; }

        /// <summary>Pages whose bytes are kept during the pass (a pipe cannot be read again).</summary>
        public Func<ulong, bool>? Capture { get; set; }

        /// <summary>A writer that receives every page as it is read (a pipe exported in one pass).</summary>
        public GuestMemoryWriter? WriteThrough { get; set; }

        public Action<long, long?>? Progress { get; set; }

        public CancellationToken CancellationToken { get; set; }
    }

    /// <summary>
    /// A Xen image's guest memory, from one pass over its records (docs/formats §3.4): which page
    /// frames the image holds and where the last copy of each is. Live migration sends pages
    /// several times, so the last copy wins; a checkpointed (Remus/COLO) stream counts up to the
    /// last complete checkpoint, or the one asked for. XTAB and BROKEN pages carry no data and are
    /// not memory; XALLOC pages are allocated zero pages; pages after a VERIFY record are the
    /// sender's verification copies and are not memory. On a seekable file only the offsets are
    /// kept (memory grows with the number of distinct frames, not their size) and the pages are
    /// read afterwards; on a pipe they are captured or written through during the pass.
    /// </summary>
    internal sealed class XenMemoryImage
    {
        private readonly Dictionary<ulong, Entry> _pages = new Dictionary<ulong, Entry>();
        private readonly Stream? _file;

        private XenMemoryImage(Stream? file, string? path)
        {
            _file = file;
            FilePath = path;
        }

        private struct Entry
        {
            public long Offset;            // of the page's 4096 bytes; -1 without data
            public GuestMemoryKind Kind;
            public byte[]? Bytes;          // captured on a pipe
        }

        /// <summary>Frames below 2^40: 52-bit physical addresses.</summary>
        public const ulong MaxPfn = 1UL << 40;

        public string? FilePath { get; }

        public XenGuestType? GuestType { get; private set; }

        public int Checkpoints { get; private set; }

        public List<X86Registers> Vcpus { get; } = new List<X86Registers>();

        public int PageCount => _pages.Count;

        /// <summary>Reads the image in <paramref name="stream"/> (left open; read again later when seekable).</summary>
        public static XenMemoryImage Scan(Stream stream, string? path, XenMemoryOptions options)
        {
            var image = new XenMemoryImage(stream.CanSeek ? stream : null, path);
            image.Read(stream, options);
            return image;
        }

        private void Read(Stream stream, XenMemoryOptions options)
        {
            var staged = new Dictionary<ulong, Entry>();
            List<X86Registers>? stagedVcpus = null;
            var pvVcpus = new SortedDictionary<uint, X86Registers>();
            bool verifying = false;
            using var reader = new XenStreamReader(stream, leaveOpen: true, new XenStreamReaderOptions { SourcePath = FilePath });
            long n = 0;
            XenStreamRecord? r;
            while ((r = reader.ReadNext()) is not null)
            {
                if ((++n & 0xFF) == 0)
                {
                    options.CancellationToken.ThrowIfCancellationRequested();
                    options.Progress?.Invoke(reader.Position, reader.Length);
                }

                switch (r)
                {
                    case DomainHeaderRecord d:
                        GuestType = d.GuestType;
                        break;
                    case PageDataRecord p when !verifying:
                        ReadBatch(p, staged, options);
                        break;
                    case PvVcpuRecord v when v.Type == XenRecordType.PvVcpuBasic:
                        if (v.ReadContext() is PvVcpuBasicContext basic)
                        {
                            pvVcpus[basic.VcpuId] = basic.Registers;
                        }

                        break;
                }

                switch (r.Type)
                {
                    case XenRecordType.HvmContext:
                        stagedVcpus = new List<X86Registers>();
                        foreach (HvmContextEntry e in HvmContextDecoder.DecodeRecord(r))
                        {
                            if (e is HvmCpuEntry cpu)
                            {
                                stagedVcpus.Add(cpu.Registers);
                            }
                        }

                        break;
                    case XenRecordType.Verify:
                        verifying = true;
                        break;
                    case XenRecordType.Checkpoint:
                        Commit(staged, ref stagedVcpus, pvVcpus);
                        Checkpoints++;
                        if (options.Checkpoint == Checkpoints)
                        {
                            return;
                        }

                        break;
                }
            }

            if (options.Checkpoint is int wanted && wanted > Checkpoints)
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "Checkpoint {0} was asked for, but the image has {1}.", wanted, Checkpoints), reader.Position);
            }

            // END: what followed the last checkpoint is complete too.
            Commit(staged, ref stagedVcpus, pvVcpus);
        }

        private void Commit(Dictionary<ulong, Entry> staged, ref List<X86Registers>? vcpus, SortedDictionary<uint, X86Registers> pvVcpus)
        {
            foreach (var kv in staged)
            {
                _pages[kv.Key] = kv.Value;
            }

            staged.Clear();
            if (vcpus is not null)
            {
                Vcpus.Clear();
                Vcpus.AddRange(vcpus);
                vcpus = null;
            }
            else if (pvVcpus.Count > 0)
            {
                Vcpus.Clear();
                Vcpus.AddRange(pvVcpus.Values);
            }
        }

        private void ReadBatch(PageDataRecord p, Dictionary<ulong, Entry> staged, XenMemoryOptions options)
        {
            if (p.EntriesTruncated)
            {
                throw new XenFormatException(XenErrorIds.RecordTooLarge, string.Format(CultureInfo.InvariantCulture, "A PAGE_DATA record of {0} pages (at most 65,536 are indexed).", p.PfnCount), p.Offset, p.Index, "PageData");
            }

            bool needBytes = _file is null && (options.Capture is not null || options.WriteThrough is not null);
            Stream? payload = needBytes ? p.OpenPayload() : null;
            try
            {
                long offset = p.PageDataOffset;
                byte[]? page = needBytes ? new byte[4096] : null;
                foreach (PageFrame f in p.Frames)
                {
                    if (f.Pfn >= MaxPfn && f.Type != XenPageType.XTab)
                    {
                        // x86-64 physical addresses have at most 52 bits: a frame beyond is no memory.
                        throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The PAGE_DATA record at offset {0} has frame 0x{1:x}, beyond the 52-bit physical address space.", p.Offset, f.Pfn), p.Offset, p.Index, "PageData");
                    }

                    var e = new Entry { Offset = -1 };
                    if (f.HasData)
                    {
                        e.Kind = GuestMemoryKind.Data;
                        e.Offset = offset;
                        offset += 4096;
                        if (payload is not null)
                        {
                            if (ForwardReadStream.ReadFully(payload, page!, 0, 4096) != 4096)
                            {
                                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream inside the pages of the PAGE_DATA record at offset {0}.", p.Offset), p.Offset);
                            }

                            if (options.Capture?.Invoke(f.Pfn) == true)
                            {
                                e.Bytes = (byte[])page!.Clone();
                            }

                            options.WriteThrough?.Page(f.Pfn << 12, page);
                        }
                    }
                    else if (f.Type == XenPageType.XAlloc)
                    {
                        e.Kind = GuestMemoryKind.Zero;
                        options.WriteThrough?.Zero(f.Pfn << 12);
                    }
                    else
                    {
                        e.Kind = GuestMemoryKind.Absent;
                    }

                    staged[f.Pfn] = e;
                }
            }
            finally
            {
                payload?.Dispose();
            }
        }

        /// <summary>Runs of consecutive frames of one kind, in frame order.</summary>
        public IEnumerable<GuestMemoryRun> Runs()
        {
            var pfns = new List<ulong>(_pages.Keys);
            pfns.Sort();
            int i = 0;
            while (i < pfns.Count)
            {
                ulong start = pfns[i];
                GuestMemoryKind kind = _pages[start].Kind;
                int j = i + 1;
                while (j < pfns.Count && pfns[j] == pfns[j - 1] + 1 && _pages[pfns[j]].Kind == kind)
                {
                    j++;
                }

                yield return new GuestMemoryRun(FilePath, start, j - i, kind);
                i = j;
            }
        }

        /// <summary>The memory ranges an export covers: consecutive frames that are memory (data or zero).</summary>
        public GuestMemoryLayout Layout()
        {
            var ranges = new List<(ulong, ulong)>();
            foreach (GuestMemoryRun run in Runs())
            {
                if (run.Kind != GuestMemoryKind.Absent)
                {
                    ranges.Add((run.Address, (ulong)run.Length));
                }
            }

            return new GuestMemoryLayout(ranges);
        }

        /// <summary>The frames in order with what they are.</summary>
        public IEnumerable<(ulong Pfn, GuestMemoryKind Kind)> Frames()
        {
            var pfns = new List<ulong>(_pages.Keys);
            pfns.Sort();
            foreach (ulong pfn in pfns)
            {
                yield return (pfn, _pages[pfn].Kind);
            }
        }

        /// <summary>
        /// The frames in order, consecutive data frames whose pages also follow each other in the
        /// file grouped (at most <paramref name="max"/>), so a run is one read and one write.
        /// </summary>
        public IEnumerable<(ulong Pfn, int Count, GuestMemoryKind Kind)> Chunks(int max)
        {
            var pfns = new List<ulong>(_pages.Keys);
            pfns.Sort();
            int i = 0;
            while (i < pfns.Count)
            {
                Entry first = _pages[pfns[i]];
                int n = 1;
                if (first.Kind == GuestMemoryKind.Data && first.Bytes is null)
                {
                    while (n < max && i + n < pfns.Count && pfns[i + n] == pfns[i] + (ulong)n
                        && _pages[pfns[i + n]] is { Kind: GuestMemoryKind.Data, Bytes: null } next && next.Offset == first.Offset + (4096L * n))
                    {
                        n++;
                    }
                }

                yield return (pfns[i], n, first.Kind);
                i += n;
            }
        }

        /// <summary>Reads <paramref name="count"/> frames of a chunk from <see cref="Chunks"/> into <paramref name="buffer"/>.</summary>
        public void ReadChunk(ulong pfn, int count, byte[] buffer)
        {
            if (count == 1)
            {
                byte[] page = new byte[4096];
                ReadPage(pfn, page);
                Buffer.BlockCopy(page, 0, buffer, 0, 4096);
                return;
            }

            Entry e = _pages[pfn];
            _file!.Position = e.Offset;
            if (ForwardReadStream.ReadFully(_file, buffer, 0, count * 4096) != count * 4096)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of the image at offset {0}, inside the pages of frames 0x{1:x}-0x{2:x}.", e.Offset, pfn, pfn + (ulong)count - 1), e.Offset);
            }
        }

        /// <summary>Reads the last copy of a frame into <paramref name="page"/>; false when the image has no data for it.</summary>
        public bool ReadPage(ulong pfn, byte[] page)
        {
            if (!_pages.TryGetValue(pfn, out Entry e) || e.Kind != GuestMemoryKind.Data)
            {
                Array.Clear(page, 0, 4096);
                return e.Kind == GuestMemoryKind.Zero && _pages.ContainsKey(pfn);
            }

            if (e.Bytes is not null)
            {
                Buffer.BlockCopy(e.Bytes, 0, page, 0, 4096);
                return true;
            }

            if (_file is null)
            {
                throw new InvalidOperationException("The page was not captured during the pass over a pipe.");
            }

            _file.Position = e.Offset;
            if (ForwardReadStream.ReadFully(_file, page, 0, 4096) != 4096)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of the image at offset {0}, inside the page of frame 0x{1:x}.", e.Offset, pfn), e.Offset);
            }

            return true;
        }

        /// <summary>The largest range read at once (256 MiB): the bytes are held in memory.</summary>
        public const int MaxRangeLength = 256 << 20;

        /// <summary>
        /// The bytes of [address, address + length): the last copy of each page; pages the image
        /// does not hold as memory read as zero and are counted in MissingBytes.
        /// </summary>
        public GuestMemoryRange ReadRange(ulong address, int length)
        {
            if (length <= 0 || length > MaxRangeLength || address > ulong.MaxValue - (ulong)(length - 1))
            {
                throw new ArgumentOutOfRangeException(nameof(length));
            }

            byte[] result = new byte[length];
            byte[] page = new byte[4096];
            long missing = 0;
            ulong end = address + (ulong)(length - 1);
            for (ulong pfn = address >> 12; ; pfn++)
            {
                ulong pageStart = pfn << 12;
                ulong from = Math.Max(pageStart, address);
                ulong to = Math.Min(pageStart + 4095, end);
                int count = (int)(to - from + 1);
                if (IsMemory(pfn))
                {
                    ReadPage(pfn, page);
                    Buffer.BlockCopy(page, (int)(from - pageStart), result, (int)(from - address), count);
                }
                else
                {
                    missing += count;
                }

                if (to == end)
                {
                    break;
                }
            }

            return new GuestMemoryRange(FilePath, address, result, missing);
        }

        /// <summary>Whether a frame is memory in the image (data or zero).</summary>
        public bool IsMemory(ulong pfn) => _pages.TryGetValue(pfn, out Entry e) && e.Kind != GuestMemoryKind.Absent;
    }
}
