using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>The RAM section (docs/formats §8.8): block lists and page records.</summary>
    public sealed partial class QemuStreamReader
    {
        private QemuRamChunk ReadRam(long sectionOffset)
        {
            long zero = 0, pages = 0, compressed = 0, xbzrle = 0, fill = 0, flushes = 0;
            int listed = 0;
            for (long n = 0; ; n++)
            {
                if ((n & 0x3FF) == 0)
                {
                    _cancel.ThrowIfCancellationRequested();
                }

                long at = Here;
                ulong header = U64("a RAM record header");
                ulong flags = header & QemuFormat.RamFlagMask;
                ulong addr = header & ~QemuFormat.RamFlagMask;
                if ((flags & QemuFormat.RamMemSize) != 0)
                {
                    listed += ReadBlockList(at, addr);
                    flags &= ~QemuFormat.RamMemSize;
                }

                if ((flags & QemuFormat.RamMultifdFlush) != 0)
                {
                    flushes++;
                    flags &= ~QemuFormat.RamMultifdFlush;
                }

                ulong kind = flags & (QemuFormat.RamZero | QemuFormat.RamPage | QemuFormat.RamXbzrle | QemuFormat.RamCompressPage);
                if (kind != 0)
                {
                    int block = PageBlock(at, flags);
                    QemuRamBlock b = _blocks[block];
                    if (addr >= (ulong)b.Length)
                    {
                        throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "a page at offset 0x{0:X} of RAM block '{1}', which is 0x{2:X} bytes long", addr, b.Name, b.Length));
                    }

                    long page = (long)(addr / QemuFormat.TargetPageSize);
                    switch (kind)
                    {
                        case QemuFormat.RamZero:
                            byte value = Bytes(1, "the fill byte")[0];
                            zero++;
                            b.ZeroPages++;
                            if (value != 0)
                            {
                                fill++;
                            }

                            _memory?.Fill(block, page, value);
                            _sink?.Fill(block, page, value);
                            break;
                        case QemuFormat.RamPage:
                            pages++;
                            b.Pages++;
                            if (_sink is not null || (_memory is not null && _memory.Wants(block, page)))
                            {
                                ReadOnlySpan<byte> data = Bytes(QemuFormat.TargetPageSize, "a page");
                                _sink?.Page(block, page, data);
                                if (_memory is not null && _memory.Wants(block, page))
                                {
                                    _memory.Store(block, page, data);
                                }
                            }
                            else if (_source.Skip(QemuFormat.TargetPageSize) != QemuFormat.TargetPageSize)
                            {
                                throw Truncated(at, "a page's 4096 bytes");
                            }

                            break;
                        case QemuFormat.RamCompressPage:
                        {
                            uint length = U32("the compressed page length");
                            if (length > 2 * QemuFormat.TargetPageSize)
                            {
                                throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "a compressed page of {0} bytes (QEMU's bound for one page is under 8192)", length));
                            }

                            compressed++;
                            b.CompressedPages++;
                            if (_sink is not null || (_memory is not null && _memory.Wants(block, page)))
                            {
                                byte[] data = QemuPages.Inflate(Bytes((int)length, "a compressed page"), at);
                                _sink?.Page(block, page, data);
                                if (_memory is not null && _memory.Wants(block, page))
                                {
                                    _memory.Store(block, page, data);
                                }
                            }
                            else if (_source.Skip(length) != length)
                            {
                                throw Truncated(at, "a compressed page");
                            }

                            break;
                        }

                        case QemuFormat.RamXbzrle:
                        {
                            byte encoding = Bytes(1, "the XBZRLE encoding flag")[0];
                            ushort length = U16("the XBZRLE length");
                            if (encoding != 1 || length > QemuFormat.TargetPageSize * 2)
                            {
                                throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "an XBZRLE page with encoding flag {0} and length {1} (flag 1 and at most 8192 expected)", encoding, length));
                            }

                            xbzrle++;
                            b.XbzrlePages++;
                            if (_sink is not null || (_memory is not null && _memory.Wants(block, page)))
                            {
                                ReadOnlySpan<byte> delta = Bytes(length, "an XBZRLE page");
                                _sink?.Xbzrle(block, page, delta, at);
                                if (_memory is not null && _memory.Wants(block, page))
                                {
                                    _memory.ApplyXbzrle(block, page, delta, at);
                                }
                            }
                            else if (_source.Skip(length) != length)
                            {
                                throw Truncated(at, "an XBZRLE page");
                            }

                            break;
                        }

                        default:
                            throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "RAM record flags 0x{0:X} combine page kinds", flags));
                    }

                    flags &= ~(kind | QemuFormat.RamContinue);
                }

                if ((flags & QemuFormat.RamEos) != 0)
                {
                    flags &= ~QemuFormat.RamEos;
                    if (flags != 0)
                    {
                        throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "unknown RAM record flags 0x{0:X}", flags));
                    }

                    return new QemuRamChunk(zero, pages, compressed, xbzrle, fill, flushes, listed);
                }

                if (flags != 0)
                {
                    string what = (flags & QemuFormat.RamHook) != 0 ? "RAM_SAVE_FLAG_HOOK (RDMA only; meaningless in a file)"
                        : (flags & QemuFormat.RamFull) != 0 ? "RAM_SAVE_FLAG_FULL (obsolete since 2009)"
                        : string.Format(CultureInfo.InvariantCulture, "unknown RAM record flags 0x{0:X}", flags);
                    throw Invalid(at, what + " in section at offset 0x" + sectionOffset.ToString("X", CultureInfo.InvariantCulture));
                }
            }
        }

        private int PageBlock(long at, ulong flags)
        {
            if ((flags & QemuFormat.RamContinue) != 0)
            {
                return _currentBlock >= 0 ? _currentBlock : throw Invalid(at, "a RAM page record continues a block, but no block was named before it");
            }

            string name = ShortName("a RAM block name");
            if (!_blockIndex.TryGetValue(name, out int block))
            {
                throw Invalid(at, "a page of RAM block '" + name + "', which the MEM_SIZE list does not name");
            }

            _currentBlock = block;
            return block;
        }

        private int ReadBlockList(long at, ulong total)
        {
            ulong sum = 0;
            int count = 0;
            if (total > long.MaxValue)
            {
                throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "a MEM_SIZE record announcing 0x{0:X} bytes of RAM", total));
            }

            while (sum < total)
            {
                if (_blocks.Count >= Limits.MaxQemuRamBlocks)
                {
                    throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "more than {0} RAM blocks", Limits.MaxQemuRamBlocks));
                }

                string name = ShortName("a RAM block name");
                ulong length = U64("a RAM block length");
                if (length > total - sum)
                {
                    throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "RAM block '{0}' is 0x{1:X} bytes, more than the 0x{2:X} left of the total the MEM_SIZE record announces", name, length, total - sum));
                }

                sum += length;
                var block = new QemuRamBlock(_path, _blocks.Count, name, (long)length);
                if (_ignoreShared)
                {
                    block.Address = U64("a RAM block address");
                    block.AddressSource = "Stream";
                }

                if (_blockIndex.ContainsKey(name))
                {
                    throw Invalid(at, "RAM block '" + name + "' is listed twice");
                }

                _blockIndex[name] = block.Index;
                _blocks.Add(block);
                count++;
            }

            if (count > 0)
            {
                // Only a list that added blocks changes where they sit: an empty MEM_SIZE record
                // costs nothing, however many the stream has.
                QemuPages.MapBlocks(_blocks, Configuration?.MachineType);
                _memory?.Resolve(_blocks);
                _sink?.Blocks(_blocks);
            }

            return count;
        }
    }

    /// <summary>Receives a stream's pages as they are read, in stream order (a page may come more than once).</summary>
    internal interface IQemuPageSink
    {
        /// <summary>The RAM blocks, placed, after each block list that added blocks.</summary>
        void Blocks(IReadOnlyList<QemuRamBlock> blocks);

        /// <summary>A page's 4096 bytes (raw or inflated).</summary>
        void Page(int block, long page, ReadOnlySpan<byte> data);

        /// <summary>A page filled with one byte (zero pages).</summary>
        void Fill(int block, long page, byte value);

        /// <summary>An XBZRLE delta against the page's previous copy.</summary>
        void Xbzrle(int block, long page, ReadOnlySpan<byte> delta, long at);
    }
}
