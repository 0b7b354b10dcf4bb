using System;
using System.Buffers.Binary;
using System.Text;

namespace XenMigration.Framing
{
    /// <summary>
    /// Growable little/big-endian encoder for record bodies and headers written by the writers.
    /// </summary>
    internal sealed class ByteBuilder
    {
        private byte[] _data;
        private int _length;

        /// <summary>Creates a builder.</summary>
        public ByteBuilder(int capacity = 256, bool bigEndian = false)
        {
            _data = new byte[Math.Max(capacity, 16)];
            BigEndian = bigEndian;
        }

        /// <summary>Byte order of the multi-byte values written.</summary>
        public bool BigEndian { get; set; }

        /// <summary>Bytes written so far.</summary>
        public int Length => _length;

        /// <summary>The bytes written so far (a view, valid until the next write).</summary>
        public ReadOnlySpan<byte> Span => new ReadOnlySpan<byte>(_data, 0, _length);

        /// <summary>A copy of the bytes written.</summary>
        public byte[] ToArray() => Span.ToArray();

        /// <summary>Appends one byte.</summary>
        public ByteBuilder U8(byte value)
        {
            Grow(1)[0] = value;
            return this;
        }

        /// <summary>Appends a 16-bit value.</summary>
        public ByteBuilder U16(ushort value)
        {
            Span<byte> s = Grow(2);
            if (BigEndian) { BinaryPrimitives.WriteUInt16BigEndian(s, value); } else { BinaryPrimitives.WriteUInt16LittleEndian(s, value); }
            return this;
        }

        /// <summary>Appends a 32-bit value.</summary>
        public ByteBuilder U32(uint value)
        {
            Span<byte> s = Grow(4);
            if (BigEndian) { BinaryPrimitives.WriteUInt32BigEndian(s, value); } else { BinaryPrimitives.WriteUInt32LittleEndian(s, value); }
            return this;
        }

        /// <summary>Appends a signed 32-bit value.</summary>
        public ByteBuilder I32(int value) => U32(unchecked((uint)value));

        /// <summary>Appends a 64-bit value.</summary>
        public ByteBuilder U64(ulong value)
        {
            Span<byte> s = Grow(8);
            if (BigEndian) { BinaryPrimitives.WriteUInt64BigEndian(s, value); } else { BinaryPrimitives.WriteUInt64LittleEndian(s, value); }
            return this;
        }

        /// <summary>Appends a signed 64-bit value.</summary>
        public ByteBuilder I64(long value) => U64(unchecked((ulong)value));

        /// <summary>Appends raw bytes.</summary>
        public ByteBuilder Bytes(ReadOnlySpan<byte> value)
        {
            value.CopyTo(Grow(value.Length));
            return this;
        }

        /// <summary>Appends the ASCII/UTF-8 bytes of a string, optionally followed by a NUL.</summary>
        public ByteBuilder Text(string value, bool nulTerminate)
        {
            Bytes(Encoding.UTF8.GetBytes(value));
            if (nulTerminate)
            {
                U8(0);
            }

            return this;
        }

        /// <summary>Appends zero bytes.</summary>
        public ByteBuilder Zeros(int count)
        {
            Grow(count).Clear();
            return this;
        }

        /// <summary>Appends zero bytes until the length is a multiple of <paramref name="alignment"/>.</summary>
        public ByteBuilder PadTo(int alignment)
        {
            int rem = _length % alignment;
            return rem == 0 ? this : Zeros(alignment - rem);
        }

        /// <summary>Overwrites a 32-bit value at <paramref name="offset"/> (for lengths known afterwards).</summary>
        public void PatchU32(int offset, uint value)
        {
            Span<byte> s = new Span<byte>(_data, offset, 4);
            if (BigEndian) { BinaryPrimitives.WriteUInt32BigEndian(s, value); } else { BinaryPrimitives.WriteUInt32LittleEndian(s, value); }
        }

        /// <summary>Forgets everything written, keeping the storage.</summary>
        public void Clear() => _length = 0;

        private Span<byte> Grow(int count)
        {
            int needed = checked(_length + count);
            if (needed > _data.Length)
            {
                int size = Math.Max(needed, _data.Length <= int.MaxValue / 2 ? _data.Length * 2 : int.MaxValue);
                Array.Resize(ref _data, size);
            }

            Span<byte> s = new Span<byte>(_data, _length, count);
            _length = needed;
            return s;
        }
    }
}
