using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Qemu;

namespace XenMigration.Memory
{
    /// <summary>
    /// Places a QEMU stream's pages at their guest-physical addresses, as Get-QemuMemory does
    /// (pc.ram split at the machine's low-memory limit with the rest from 4 GiB, pc.bios below 4 GiB,
    /// blocks the stream places itself), and hands them to a writer. pc.rom is not exported: once
    /// the BIOS has run, 0xC0000-0xFFFFF shows pc.ram's shadow copy (the PAM registers), which is
    /// what QEMU's own dump-guest-memory writes there. The legacy VGA window 0xA0000-0xBFFFF is
    /// exported as the pc.ram beneath it: whether a VGA device covers it is in device sections
    /// that come after the RAM. Blocks with no guest-physical address are not exported.
    /// </summary>
    internal sealed class QemuMemorySink : IQemuPageSink
    {
        private const ulong FourGiB = 1UL << 32;
        private readonly GuestMemoryWriter _writer;
        private readonly byte[] _page = new byte[4096];
        private IReadOnlyList<QemuRamBlock>? _blocks;
        private int _placed;

        public QemuMemorySink(GuestMemoryWriter writer) => _writer = writer;

        public bool Started => _blocks is not null;

        public void Blocks(IReadOnlyList<QemuRamBlock> blocks)
        {
            if (_blocks is not null)
            {
                if (blocks.Count != _placed)
                {
                    throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "RAM blocks were added after pages had been exported ({0} blocks, then {1}).", _placed, blocks.Count), 0);
                }

                return;
            }

            _blocks = blocks;
            _placed = blocks.Count;
            _writer.Begin(new GuestMemoryLayout(Ranges(blocks)));
        }

        /// <summary>The guest-physical ranges the blocks occupy.</summary>
        public static IEnumerable<(ulong Start, ulong Length)> Ranges(IReadOnlyList<QemuRamBlock> blocks)
        {
            foreach (QemuRamBlock b in blocks)
            {
                if (Placed(b) is not ulong start)
                {
                    continue;
                }

                if (b.LowMemory is long low)
                {
                    ulong lowEnd = (ulong)low;
                    yield return (0, lowEnd);
                    if ((ulong)b.Length > lowEnd)
                    {
                        yield return (FourGiB, (ulong)b.Length - lowEnd);
                    }
                }
                else
                {
                    yield return (start, (ulong)b.Length);
                }
            }
        }

        private static ulong? Placed(QemuRamBlock b) => b.Name == "pc.rom" ? null : b.Address;

        private ulong? Address(int block, long page)
        {
            QemuRamBlock b = _blocks![block];
            if (Placed(b) is not ulong start)
            {
                return null;
            }

            ulong offset = (ulong)page << 12;
            if (b.LowMemory is long low)
            {
                return offset < (ulong)low ? offset : FourGiB + (offset - (ulong)low);
            }

            return start + offset;
        }

        public void Page(int block, long page, ReadOnlySpan<byte> data)
        {
            if (Address(block, page) is ulong gpa)
            {
                _writer.Page(gpa, data);
            }
        }

        public void Fill(int block, long page, byte value)
        {
            if (Address(block, page) is not ulong gpa)
            {
                return;
            }

            if (value == 0)
            {
                _writer.Zero(gpa);
            }
            else
            {
                _page.AsSpan().Fill(value);
                _writer.Page(gpa, _page);
            }
        }

        public void Xbzrle(int block, long page, ReadOnlySpan<byte> delta, long at)
        {
            if (Address(block, page) is ulong gpa)
            {
                _writer.ReadBack(gpa, _page);
                QemuPages.ApplyXbzrle(_page, delta, at);
                _writer.Page(gpa, _page);
            }
        }
    }
}
