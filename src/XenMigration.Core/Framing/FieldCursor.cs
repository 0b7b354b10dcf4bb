using System;
using System.Buffers.Binary;
using System.Globalization;

namespace XenMigration.Framing
{
    /// <summary>
    /// Reads named fields, in one byte order, from a <see cref="StreamSource"/>: the one field
    /// reader of every stream format that is not record-framed (QEMU streams, legacy images).
    /// Every field names itself, so a truncation is always "Unexpected end of {stream} at offset
    /// 0x.. while reading {field}", and every refusal "The {stream} is invalid at offset 0x..: ...",
    /// with offsets relative to the file (<see cref="BaseOffset"/> plus the source position).
    /// </summary>
    internal sealed class FieldCursor
    {
        private readonly string _stream;

        /// <param name="source">The input.</param>
        /// <param name="streamName">The stream's name in messages ("QEMU stream", "legacy stream").</param>
        /// <param name="bigEndian">Byte order of the integers.</param>
        /// <param name="baseOffset">File offset of the source's first byte.</param>
        public FieldCursor(StreamSource source, string streamName, bool bigEndian, long baseOffset = 0)
        {
            Source = source;
            _stream = streamName;
            BigEndian = bigEndian;
            BaseOffset = baseOffset;
        }

        public StreamSource Source { get; }

        public bool BigEndian { get; }

        public long BaseOffset { get; }

        /// <summary>File offset of the next byte.</summary>
        public long Here => BaseOffset + Source.Position;

        /// <summary>Consumes <paramref name="count"/> bytes (at most the read buffer), valid until the next read.</summary>
        public ReadOnlySpan<byte> Bytes(int count, string what)
        {
            long at = Here;
            return Source.TryRead(count, out ReadOnlySpan<byte> span) ? span : throw Truncated(at, what);
        }

        /// <summary>The next up to <paramref name="count"/> bytes, not consumed.</summary>
        public ReadOnlySpan<byte> Peek(int count) => Source.Peek(count);

        public byte U8(string what) => Bytes(1, what)[0];

        public ushort U16(string what)
        {
            ReadOnlySpan<byte> s = Bytes(2, what);
            return BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);
        }

        public uint U32(string what)
        {
            ReadOnlySpan<byte> s = Bytes(4, what);
            return BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
        }

        public int I32(string what) => unchecked((int)U32(what));

        public ulong U64(string what)
        {
            ReadOnlySpan<byte> s = Bytes(8, what);
            return BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
        }

        /// <summary>A 4- or 8-byte unsigned word (the width of the machine that wrote the stream).</summary>
        public ulong Word(int bytes, string what) => bytes == 4 ? U32(what) : U64(what);

        /// <summary>Skips <paramref name="count"/> bytes (seeking when it can); the input ending first is a truncation.</summary>
        public void Skip(long count, string what)
        {
            long at = Here;
            if (Source.Skip(count) != count)
            {
                throw Truncated(at, what);
            }
        }

        /// <summary>
        /// <paramref name="count"/> bytes in a new array. On a pipe the array grows as bytes arrive,
        /// so a hostile length cannot make it allocate ahead of the data.
        /// </summary>
        public byte[] Array(int count, string what)
        {
            long at = Here;
            return Source.ReadArray(count) ?? throw Truncated(at, what);
        }

        /// <summary>The truncation error for <paramref name="what"/>, which started at <paramref name="at"/>.</summary>
        public XenTruncatedException Truncated(long at, string what) =>
            new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of the {0} at offset 0x{1:X} ({1}) while reading {2}.", _stream, at, what), at);

        /// <summary>A refusal of what is at <paramref name="at"/>, with a stable <paramref name="errorId"/>.</summary>
        public XenFormatException Invalid(string errorId, long at, string detail) =>
            new XenFormatException(errorId, string.Format(CultureInfo.InvariantCulture, "The {0} is invalid at offset 0x{1:X} ({1}): {2}.", _stream, at, detail), at);
    }
}
