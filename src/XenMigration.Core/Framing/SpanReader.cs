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

        /// <summary><paramref name="count"/> bytes as a new array.</summary>
        public byte[] Array(int count) => Take(count).ToArray();

        /// <summary><paramref name="count"/> consecutive u32 fields.</summary>
        public uint[] U32s(int count)
        {
            uint[] v = new uint[count];
            for (int i = 0; i < count; i++)
            {
                v[i] = U32();
            }

            return v;
        }

        /// <summary><paramref name="count"/> consecutive u64 fields.</summary>
        public ulong[] U64s(int count)
        {
            ulong[] v = new ulong[count];
            for (int i = 0; i < count; i++)
            {
                v[i] = U64();
            }

            return v;
        }

        /// <summary>The byte at <paramref name="at"/> from the start, without moving.</summary>
        public byte U8At(int at) => At(at, 1)[0];

        /// <summary>The u16 at <paramref name="at"/> from the start, without moving.</summary>
        public ushort U16At(int at) => BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(At(at, 2)) : BinaryPrimitives.ReadUInt16LittleEndian(At(at, 2));

        /// <summary>The u32 at <paramref name="at"/> from the start, without moving.</summary>
        public uint U32At(int at) => BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(At(at, 4)) : BinaryPrimitives.ReadUInt32LittleEndian(At(at, 4));

        /// <summary>The u64 at <paramref name="at"/> from the start, without moving.</summary>
        public ulong U64At(int at) => BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(At(at, 8)) : BinaryPrimitives.ReadUInt64LittleEndian(At(at, 8));

        public void Skip(int count) => Take(count);

        /// <summary>UTF-8 text of bytes already in the span (for names read byte by byte).</summary>
        public string Utf8At(int start, int length) => System.Text.Encoding.UTF8.GetString(At(start, length).ToArray());

        /// <summary>The rest of the span, consumed.</summary>
        public ReadOnlySpan<byte> Rest() => Take(Remaining);

        private ReadOnlySpan<byte> At(int at, int count)
        {
            if (unchecked((uint)at) > (uint)_span.Length || unchecked((uint)count) > (uint)(_span.Length - at))
            {
                throw Overrun(at, count);
            }

            return _span.Slice(at, count);
        }

        private XenFormatException Overrun(int at, int count)
        {
            long where = BaseOffset + at;
            return new XenFormatException(
                XenErrorIds.InvalidRecord,
                string.Format(CultureInfo.InvariantCulture, "Needed {0} bytes at offset 0x{1:X} ({1}), byte {2} of a {3}-byte field block, but only {4} remain.", count, where, at, _span.Length, Math.Max(0, _span.Length - at)),
                where);
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (unchecked((uint)count) > (uint)(_span.Length - _pos))
            {
                throw Overrun(_pos, count);
            }

            ReadOnlySpan<byte> s = _span.Slice(_pos, count);
            _pos += count;
            return s;
        }
    }
}
