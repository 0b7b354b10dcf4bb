using System.Buffers.Binary;
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;

namespace XenMigration.Qemu
{
    /// <summary>
    /// A range of guest memory to read from a stream: guest-physical (<see cref="Address"/>) or an
    /// offset in a named RAM block. At most <see cref="MaxLength"/> bytes.
    /// </summary>
    public sealed class QemuMemoryRequest
    {
        /// <summary>The largest range read at once (256 MiB): the bytes are held in memory.</summary>
        public const int MaxLength = 256 << 20;

        private QemuMemoryRequest(ulong address, string? blockName, long length)
        {
            if (length <= 0 || length > MaxLength)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, "The length must be 1 to 268435456 bytes.");
            }

            if (address > ulong.MaxValue - (ulong)(length - 1))
            {
                throw new ArgumentOutOfRangeException(nameof(address), "The range passes the end of the address space.");
            }

            Address = address;
            BlockName = blockName;
            Length = (int)length;
        }

        /// <summary>The guest-physical address, or the offset in <see cref="BlockName"/>.</summary>
        public ulong Address { get; }

        /// <summary>The RAM block for a block-relative range; null for guest-physical.</summary>
        public string? BlockName { get; }

        /// <summary>Bytes to read.</summary>
        public int Length { get; }

        /// <summary>A guest-physical range.</summary>
        public static QemuMemoryRequest Physical(ulong address, long length) => new QemuMemoryRequest(address, null, length);

        /// <summary>A range of a named RAM block (e.g. <c>pc.ram</c>, <c>vga.vram</c>).</summary>
        public static QemuMemoryRequest InBlock(string blockName, ulong offset, long length) =>
            new QemuMemoryRequest(offset, blockName ?? throw new ArgumentNullException(nameof(blockName)), length);
    }

    /// <summary>RAM-block placement and page decoding (docs/formats §8.8).</summary>
    internal static class QemuPages
    {
        private const ulong FourGiB = 1UL << 32;

        /// <summary>
        /// Gives pc.ram, pc.bios and pc.rom their guest-physical place when the stream does not (it
        /// only does with x-ignore-shared): pc.ram from 0 up to the machine's low-memory limit and
        /// the rest from 4 GiB; pc.bios ending at 4 GiB; pc.rom at 0xC0000. Other blocks (option
        /// ROMs, video RAM, firmware tables) sit where the guest programmed a BAR or nowhere, which
        /// the stream does not say: they are read by block name.
        /// </summary>
        public static void MapBlocks(List<QemuRamBlock> blocks, string? machineType)
        {
            bool q35 = machineType is not null && machineType.IndexOf("q35", StringComparison.Ordinal) >= 0;
            foreach (QemuRamBlock b in blocks)
            {
                if (b.AddressSource == "Stream" && (b.Address != 0 || b.Name == "pc.ram"))
                {
                    if (b.Name == "pc.ram")
                    {
                        b.LowMemory = LowMemory(b.Length, q35);
                    }

                    continue;
                }

                b.Address = null;
                b.AddressSource = null;
                switch (b.Name)
                {
                    case "pc.ram":
                        b.Address = 0;
                        b.LowMemory = LowMemory(b.Length, q35);
                        break;
                    case "pc.bios" when (ulong)b.Length <= FourGiB:
                        b.Address = FourGiB - (ulong)b.Length;
                        break;
                    case "pc.rom":
                        b.Address = 0xC0000;
                        break;
                    default:
                        continue;
                }

                b.AddressSource = "MachineType";
            }
        }

        // hw/i386/pc_piix.c and pc_q35.c (7.2): RAM above the limit moves to 4 GiB.
        private static long LowMemory(long ram, bool q35)
        {
            if (q35)
            {
                return ram >= 0xB0000000L ? 0x80000000L : ram;
            }

            return ram >= 0xE0000000L ? 0xC0000000L : ram;
        }

        /// <summary>The guest-physical address of an offset in a block, when the block's place is known (the inverse of <see cref="Locate"/>).</summary>
        public static ulong? PhysicalOf(QemuRamBlock block, long offset)
        {
            if (block.Address is not ulong start || offset < 0 || offset >= block.Length)
            {
                return null;
            }

            if (block.LowMemory is long low)
            {
                return offset < low ? (ulong)offset : FourGiB + (ulong)(offset - low);
            }

            return start > ulong.MaxValue - (ulong)offset ? null : start + (ulong)offset;
        }

        /// <summary>The block holding a guest-physical address, and the offset in it; -1 when none.</summary>
        public static (int Block, long Offset) Locate(IReadOnlyList<QemuRamBlock> blocks, ulong gpa)
        {
            foreach (QemuRamBlock b in blocks)
            {
                if (b.Address is not ulong start)
                {
                    continue;
                }

                if (b.LowMemory is long low)
                {
                    if (gpa < (ulong)low)
                    {
                        return (b.Index, (long)gpa);
                    }

                    if (gpa >= FourGiB && gpa - FourGiB < (ulong)(b.Length - low))
                    {
                        return (b.Index, low + (long)(gpa - FourGiB));
                    }

                    continue;
                }

                if (gpa >= start && gpa - start < (ulong)b.Length)
                {
                    return (b.Index, (long)(gpa - start));
                }
            }

            return (-1, 0);
        }

        /// <summary>
        /// Inflates a COMPRESS_PAGE body: a zlib stream of exactly one page, checked as zlib's
        /// uncompress() does: the data must inflate to 4096 bytes and no more, and the Adler-32 in
        /// its last four bytes must match them (trailing garbage leaves the wrong bytes there).
        /// </summary>
        public static byte[] Inflate(ReadOnlySpan<byte> zlib, long at)
        {
            if (zlib.Length < 6 || (zlib[0] & 0x0F) != 8 || ((zlib[0] << 8) | zlib[1]) % 31 != 0 || (zlib[1] & 0x20) != 0)
            {
                throw new XenFormatException(XenErrorIds.CorruptCompressedData, string.Format(CultureInfo.InvariantCulture, "Malformed QEMU stream at offset 0x{0:X}: a compressed page is not a zlib stream.", at), at);
            }

            byte[] page = new byte[QemuFormat.TargetPageSize];
            string? wrong = null;
            try
            {
                using var input = new MemoryStream(zlib.Slice(2).ToArray());
                using var deflate = new DeflateStream(input, CompressionMode.Decompress);
                int done = 0;
                while (done < page.Length)
                {
                    int n = deflate.Read(page, done, page.Length - done);
                    if (n == 0)
                    {
                        break;
                    }

                    done += n;
                }

                if (done != page.Length)
                {
                    wrong = "inflates to " + done.ToString(CultureInfo.InvariantCulture) + " bytes, not 4096";
                }
                else if (deflate.Read(new byte[1], 0, 1) != 0)
                {
                    wrong = "inflates to more than 4096 bytes";
                }
            }
            catch (InvalidDataException e)
            {
                wrong = "does not inflate (" + e.Message.TrimEnd('.') + ")";
            }

            if (wrong is null && BinaryPrimitives.ReadUInt32BigEndian(zlib.Slice(zlib.Length - 4)) != Compression.Checksums.Adler32(page))
            {
                wrong = "fails its Adler-32 checksum (the data is damaged, or bytes follow it)";
            }

            if (wrong is not null)
            {
                throw new XenFormatException(XenErrorIds.CorruptCompressedData, string.Format(CultureInfo.InvariantCulture, "Malformed QEMU stream at offset 0x{0:X}: a compressed page {1}.", at, wrong), at);
            }

            return page;
        }

        /// <summary>
        /// Applies an XBZRLE delta to the previous copy of a page, in place: alternating ULEB128
        /// run lengths, unchanged bytes then new bytes (migration/xbzrle.c).
        /// </summary>
        public static void ApplyXbzrle(Span<byte> page, ReadOnlySpan<byte> delta, long at)
        {
            int d = 0, p = 0;
            while (d < delta.Length)
            {
                int zrun = Uleb(delta, ref d, at);
                if (zrun > page.Length - p)
                {
                    throw Bad(at, "an unchanged run passes the end of the page");
                }

                p += zrun;
                if (d >= delta.Length)
                {
                    break;
                }

                int nzrun = Uleb(delta, ref d, at);
                if (nzrun > page.Length - p || nzrun > delta.Length - d)
                {
                    throw Bad(at, "a changed run passes the end of the page or of the delta");
                }

                delta.Slice(d, nzrun).CopyTo(page.Slice(p));
                d += nzrun;
                p += nzrun;
            }
        }

        private static int Uleb(ReadOnlySpan<byte> s, ref int pos, long at)
        {
            int value = 0, shift = 0;
            while (true)
            {
                if (pos >= s.Length || shift > 21)
                {
                    throw Bad(at, "a run length is cut off or too long");
                }

                byte b = s[pos++];
                value |= (b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }

                shift += 7;
            }
        }

        private static XenFormatException Bad(long at, string what) =>
            new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "Malformed QEMU stream at offset 0x{0:X}: XBZRLE page: {1}.", at, what), at);
    }

    /// <summary>
    /// Collects the pages of one requested range while the stream is read, last copy winning. Pages
    /// the range covers whole are written straight into the result; only the (at most two) partly
    /// covered pages at the range's ends of each block piece are kept whole beside it. Memory is the
    /// size of the request, not of the stream.
    /// </summary>
    internal sealed class QemuMemoryCollector
    {
        private const int Page = QemuFormat.TargetPageSize;
        private readonly QemuMemoryRequest _request;
        private readonly byte[] _result;
        private readonly Dictionary<ulong, int> _whole = new Dictionary<ulong, int>();          // page → offset in _result
        private readonly Dictionary<ulong, byte[]?> _partial = new Dictionary<ulong, byte[]?>();  // page → its last copy
        private readonly List<(int Block, long Offset, int Length, int Target)> _pieces = new List<(int, long, int, int)>();
        private readonly HashSet<ulong> _seen = new HashSet<ulong>();
        private IReadOnlyList<QemuRamBlock>? _blocks;

        public QemuMemoryCollector(QemuMemoryRequest request)
        {
            _request = request;
            _result = new byte[request.Length];
        }

        // Blocks are fewer than 4096 (12 bits) and pages of a block below 2^51 (a block is at most
        // 2^63 bytes), so block and page fit 64 bits without colliding.
        private static ulong Key(int block, long page) => ((ulong)(uint)block << 52) | (ulong)page;

        /// <summary>Maps the request onto blocks once the MEM_SIZE list is known.</summary>
        public void Resolve(IReadOnlyList<QemuRamBlock> blocks)
        {
            _blocks = blocks;
            _pieces.Clear();
            _whole.Clear();
            _partial.Clear();
            if (_request.BlockName is string name)
            {
                foreach (QemuRamBlock b in blocks)
                {
                    if (b.Name == name && _request.Address < (ulong)b.Length)
                    {
                        int length = (int)Math.Min(_request.Length, b.Length - (long)_request.Address);
                        Add(b.Index, (long)_request.Address, length, 0);
                    }
                }

                return;
            }

            // Guest-physical: a page at a time, so block boundaries and the 4 GiB split are honoured.
            int done = 0;
            while (done < _request.Length)
            {
                ulong gpa = _request.Address + (ulong)done;
                int chunk = (int)Math.Min(_request.Length - done, Page - (long)(gpa % Page));
                (int block, long offset) = QemuPages.Locate(blocks, gpa);
                if (block >= 0)
                {
                    chunk = (int)Math.Min(chunk, blocks[block].Length - offset);
                    Add(block, offset, chunk, done);
                }

                done += chunk;
            }
        }

        private void Add(int block, long offset, int length, int target)
        {
            _pieces.Add((block, offset, length, target));
            for (long at = offset; at < offset + length;)
            {
                long page = at / Page;
                int inPage = (int)(at % Page);
                int n = (int)Math.Min(Page - inPage, offset + length - at);
                ulong key = Key(block, page);
                if (inPage == 0 && n == Page && !_partial.ContainsKey(key))
                {
                    _whole[key] = target + (int)(at - offset);
                }
                else
                {
                    _whole.Remove(key);
                    _partial[key] = null;
                }

                at += n;
            }
        }

        public bool Wants(int block, long page)
        {
            ulong key = Key(block, page);
            return _whole.ContainsKey(key) || _partial.ContainsKey(key);
        }

        public void Fill(int block, long page, byte value)
        {
            ulong key = Key(block, page);
            Span<byte> target = Target(key, create: true);
            if (!target.IsEmpty)
            {
                target.Fill(value);
                _seen.Add(key);
            }
        }

        public void Store(int block, long page, ReadOnlySpan<byte> bytes)
        {
            ulong key = Key(block, page);
            Span<byte> target = Target(key, create: true);
            if (!target.IsEmpty)
            {
                bytes.CopyTo(target);
                _seen.Add(key);
            }
        }

        public void ApplyXbzrle(int block, long page, ReadOnlySpan<byte> delta, long at)
        {
            ulong key = Key(block, page);
            if (!_seen.Contains(key))
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "Malformed QEMU stream at offset 0x{0:X}: an XBZRLE page for a page the stream never sent before.", at), at);
            }

            QemuPages.ApplyXbzrle(Target(key, create: false), delta, at);
        }

        // Where a page's last copy lives: in the result, or in its own buffer for a partly requested page.
        private Span<byte> Target(ulong key, bool create)
        {
            if (_whole.TryGetValue(key, out int offset))
            {
                return _result.AsSpan(offset, Page);
            }

            if (_partial.TryGetValue(key, out byte[]? page))
            {
                if (page is null && create)
                {
                    page = new byte[Page];
                    _partial[key] = page;
                }

                return page;
            }

            return Span<byte>.Empty;
        }

        public QemuMemoryRange Result(string? path)
        {
            long covered = 0;
            string? blockName = null;
            long blockOffset = 0;
            var blocksSeen = new HashSet<int>();
            foreach ((int block, long offset, int length, int target) in _pieces)
            {
                blocksSeen.Add(block);
                if (blocksSeen.Count == 1 && target == 0)
                {
                    blockOffset = offset;
                }

                for (long at = offset; at < offset + length;)
                {
                    long page = at / Page;
                    int inPage = (int)(at % Page);
                    int n = (int)Math.Min(Page - inPage, offset + length - at);
                    ulong key = Key(block, page);
                    if (_seen.Contains(key))
                    {
                        covered += n;
                        if (_partial.TryGetValue(key, out byte[]? copy) && copy is not null)
                        {
                            Buffer.BlockCopy(copy, inPage, _result, target + (int)(at - offset), n);
                        }
                    }

                    at += n;
                }
            }

            if (blocksSeen.Count == 1 && _blocks is not null)
            {
                foreach (int b in blocksSeen)
                {
                    blockName = _blocks[b].Name;
                }
            }

            var range = new QemuMemoryRange(path, _request.Address, blockName, blockOffset, _result, _request.Length - covered);
            if (_request.BlockName is null)
            {
                range.PhysicalAddress = _request.Address;
            }
            else if (_blocks is not null)
            {
                foreach (QemuRamBlock b in _blocks)
                {
                    if (b.Name == _request.BlockName)
                    {
                        range.PhysicalAddress = QemuPages.PhysicalOf(b, (long)_request.Address);
                    }
                }
            }

            return range;
        }
    }
}
