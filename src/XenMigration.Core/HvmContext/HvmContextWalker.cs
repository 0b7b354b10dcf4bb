using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.HvmContext
{
    /// <summary>The descriptor of one entry of an HVM context blob, as the walker finds it.</summary>
    internal readonly struct HvmEntryDescriptor
    {
        internal HvmEntryDescriptor(int offset, ushort typecode, ushort instance, uint length)
        {
            Offset = offset;
            Typecode = typecode;
            Instance = instance;
            Length = length;
        }

        /// <summary>Offset of the descriptor within the blob.</summary>
        public int Offset { get; }
        /// <summary>Typecode.</summary>
        public ushort Typecode { get; }
        /// <summary>Xen's name of the typecode.</summary>
        public string Name => HvmContextFormat.NameOf(Typecode);
        /// <summary>Instance: the vCPU for per-vCPU entries, 0 (or the PIC number) otherwise.</summary>
        public ushort Instance { get; }
        /// <summary>Payload length.</summary>
        public uint Length { get; }
        /// <summary>Offset of the payload within the blob.</summary>
        public int PayloadOffset => Offset + HvmContextFormat.DescriptorSize;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}[{1}] {2} bytes", Name, Instance, Length);
    }

    /// <summary>
    /// Walks the entries of an HVM context blob as Xen's loader does: a descriptor (typecode,
    /// instance, length), then that many bytes, until END. The stream form reads the blob as it
    /// arrives and hands each entry to a callback with the first bytes of its payload, so a 128 MiB
    /// blob of entries costs no more memory than a real one.
    /// </summary>
    internal static class HvmContextWalker
    {
        /// <summary>Receives one entry and the first bytes of its payload (valid only during the call).</summary>
        public delegate void EntryHandler(HvmEntryDescriptor entry, System.ReadOnlySpan<byte> payloadPrefix);

        /// <summary>How many bytes of each entry's payload the stream walk passes to its callback.</summary>
        public const int PrefixLength = 16;

        /// <summary>Walks a blob held in memory and returns its entries.</summary>
        public static IReadOnlyList<HvmEntryDescriptor> Walk(byte[] blob, out int endOffset, out string? fault, out int faultOffset)
        {
            var entries = new List<HvmEntryDescriptor>();
            using var stream = new System.IO.MemoryStream(blob, writable: false);
            Walk(stream, blob.Length, (e, _) => entries.Add(e), out endOffset, out fault, out faultOffset);
            return entries;
        }

        /// <summary>
        /// Walks <paramref name="length"/> bytes of <paramref name="blob"/>, calling
        /// <paramref name="onEntry"/> for every entry with up to <see cref="PrefixLength"/> bytes of its
        /// payload. <paramref name="endOffset"/> is the offset just after END (-1 without END);
        /// <paramref name="fault"/> says why the walk stopped early, at <paramref name="faultOffset"/>.
        /// </summary>
        /// <exception cref="System.IO.EndOfStreamException">The stream ends before <paramref name="length"/> bytes.</exception>
        public static void Walk(System.IO.Stream blob, int length, EntryHandler onEntry, out int endOffset, out string? fault, out int faultOffset)
        {
            int pos = 0;
            endOffset = -1;
            fault = null;
            faultOffset = -1;
            byte[] buffer = new byte[1 << 16];
            while (pos < length)
            {
                if (length - pos < HvmContextFormat.DescriptorSize)
                {
                    Consume(blob, length - pos, buffer);
                    fault = string.Format(CultureInfo.InvariantCulture, "{0} bytes at blob offset {1} are too few for an 8-byte descriptor", length - pos, pos);
                    faultOffset = pos;
                    return;
                }

                ReadExactly(blob, buffer, HvmContextFormat.DescriptorSize);
                var r = new SpanReader(new System.ReadOnlySpan<byte>(buffer, 0, HvmContextFormat.DescriptorSize));
                ushort code = r.U16();
                ushort instance = r.U16();
                uint entryLength = r.U32();
                int remaining = length - pos - HvmContextFormat.DescriptorSize;
                if (entryLength > (uint)remaining)
                {
                    Consume(blob, remaining, buffer);
                    fault = string.Format(CultureInfo.InvariantCulture, "the {0} entry at blob offset {1} declares {2} bytes but only {3} remain", HvmContextFormat.NameOf(code), pos, entryLength, remaining);
                    faultOffset = pos;
                    return;
                }

                int prefix = (int)System.Math.Min(entryLength, PrefixLength);
                ReadExactly(blob, buffer, prefix);
                onEntry(new HvmEntryDescriptor(pos, code, instance, entryLength), new System.ReadOnlySpan<byte>(buffer, 0, prefix));
                Consume(blob, (int)entryLength - prefix, buffer);
                pos += HvmContextFormat.DescriptorSize + (int)entryLength;
                if (code == HvmContextFormat.EndCode)
                {
                    endOffset = pos;
                    Consume(blob, length - pos, buffer);
                    return;
                }
            }
        }

        private static void ReadExactly(System.IO.Stream s, byte[] buffer, int count)
        {
            if (ForwardReadStream.ReadFully(s, buffer, 0, count) != count)
            {
                throw new System.IO.EndOfStreamException();
            }
        }

        private static void Consume(System.IO.Stream s, int count, byte[] buffer)
        {
            while (count > 0)
            {
                int n = s.Read(buffer, 0, System.Math.Min(count, buffer.Length));
                if (n == 0)
                {
                    throw new System.IO.EndOfStreamException();
                }

                count -= n;
            }
        }
    }
}
