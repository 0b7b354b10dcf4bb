using System;
using System.Buffers.Binary;
using System.Globalization;

namespace XenMigration.Framing
{
    /// <summary>
    /// Bounds-checked sequential decoder of fixed fields in a byte span, in either byte order.
    /// Every read checks the bytes remaining with one unsigned compare (as BlobReader does), so a
    /// length taken from the data can never read outside the span.
    /// </summary>
    /// <remarks>
    /// A read past the end is a <see cref="XenFormatException"/> (InvalidRecord) at
    /// <see cref="BaseOffset"/> plus the position, so it carries the file offset when the caller
    /// gives where the span starts.
    /// </remarks>
    internal ref struct SpanReader
    {
        private readonly ReadOnlySpan<byte> _span;
        private int _pos;

        public SpanReader(ReadOnlySpan<byte> span, bool bigEndian = false, long baseOffset = 0)
        {
            _span = span;
            _pos = 0;
            BigEndian = bigEndian;
            BaseOffset = baseOffset;
        }

        /// <summary>File offset of the span's first byte (for messages).</summary>
        public long BaseOffset { get; }

        public bool BigEndian { get; }

        public int Position => _pos;

        public int Remaining => _span.Length - _pos;

        public int Length => _span.Length;

        public byte U8() => Take(1)[0];

        public ushort U16()
        {
            ReadOnlySpan<byte> s = Take(2);
            return BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);
        }

        public uint U32()
        {
            ReadOnlySpan<byte> s = Take(4);
            return BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
        }

        public int I32()
        {
            ReadOnlySpan<byte> s = Take(4);
            return BigEndian ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s);
        }

        public ulong U64()
        {
            ReadOnlySpan<byte> s = Take(8);
            return BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
        }

        public long I64()
        {
            ReadOnlySpan<byte> s = Take(8);
            return BigEndian ? BinaryPrimitives.ReadInt64BigEndian(s) : BinaryPrimitives.ReadInt64LittleEndian(s);
        }

        public ReadOnlySpan<byte> Bytes(int count) => Take(count);

        public void Skip(int count) => Take(count);

        /// <summary>UTF-8 text of bytes already in the span (for names read byte by byte).</summary>
        public string Utf8At(int start, int length) => System.Text.Encoding.UTF8.GetString(_span.Slice(start, length).ToArray());

        /// <summary>The rest of the span, consumed.</summary>
        public ReadOnlySpan<byte> Rest() => Take(Remaining);

        private ReadOnlySpan<byte> Take(int count)
        {
            if (unchecked((uint)count) > (uint)(_span.Length - _pos))
            {
                long at = BaseOffset + _pos;
                throw new XenFormatException(
                    XenErrorIds.InvalidRecord,
                    string.Format(CultureInfo.InvariantCulture, "Needed {0} bytes at offset 0x{1:X} ({1}), byte {2} of a {3}-byte field block, but only {4} remain.", count, at, _pos, _span.Length, _span.Length - _pos),
                    at);
            }

            ReadOnlySpan<byte> s = _span.Slice(_pos, count);
            _pos += count;
            return s;
        }
    }
}
