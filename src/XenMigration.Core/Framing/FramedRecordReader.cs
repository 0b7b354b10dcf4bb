using System;
using System.Buffers.Binary;
using System.Globalization;

namespace XenMigration.Framing
{
    /// <summary>
    /// Reads the shared 8-byte-aligned record framing (<see cref="RecordFrame"/>) from a
    /// <see cref="StreamSource"/>: checks every declared length against the cap and, on seekable
    /// input, against the bytes that remain before anything is allocated or skipped; hands out the
    /// body piecewise; and skips what the caller did not consume, by seeking when it can.
    /// </summary>
    /// <summary>Decodes one fixed-size entry.</summary>
    internal delegate T EntryDecoder<T>(ReadOnlySpan<byte> entry);

    internal sealed class FramedRecordReader
    {
        private readonly StreamSource _source;
        private readonly Func<uint, string> _nameOf;
        private RecordFrame _frame;
        private bool _open;
        private bool _framed;

        public FramedRecordReader(StreamSource source, long maxLength, Func<uint, string> nameOf)
        {
            _source = source;
            MaxLength = maxLength;
            _nameOf = nameOf;
        }

        public StreamSource Source => _source;

        /// <summary>Records longer than this are refused before anything is read.</summary>
        public long MaxLength { get; }

        /// <summary>Byte order of the type and length fields and of the bodies.</summary>
        public bool BigEndian { get; set; }

        /// <summary>Index reported in errors for the record being read.</summary>
        public long RecordIndex { get; set; }

        public RecordFrame Current => _frame;

        /// <summary>Bytes of the current body not consumed yet.</summary>
        public long BodyRemaining => _open ? _frame.BodyEnd - _source.Position : 0;

        /// <summary>True while a body is being read.</summary>
        public bool InRecord => _open;

        /// <summary>Incremented whenever a record is finished, so handed-out payload streams can tell they expired.</summary>
        public int Generation { get; private set; }

        /// <summary>
        /// Reads the next 8-byte record header. The end of input before any byte of it is reported as
        /// a truncation of what <paramref name="expected"/> names.
        /// </summary>
        public RecordFrame ReadHeader(string expected)
        {
            long offset = _source.Position;
            if (!_source.TryRead(RecordFrame.HeaderSize, out ReadOnlySpan<byte> head))
            {
                throw new XenTruncatedException(
                    string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0} while reading the header of {1} (record #{2}, which starts at offset {3}).", _source.Position, expected, RecordIndex, offset),
                    _source.Position,
                    RecordIndex);
            }

            uint type = BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(head) : BinaryPrimitives.ReadUInt32LittleEndian(head);
            uint length = BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(head.Slice(4)) : BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(4));
            _frame = new RecordFrame(offset, type, length);
            string name = _nameOf(type);
            if (length > MaxLength)
            {
                throw new XenFormatException(
                    XenErrorIds.RecordTooLarge,
                    string.Format(CultureInfo.InvariantCulture, "The {0} declares a body of {1} bytes, more than the {2}-byte limit.", XenFormatException.Where(offset, RecordIndex, name), length, MaxLength),
                    offset,
                    RecordIndex,
                    name);
            }

            long remaining = _source.RemainingAtLeast(RecordFrame.PaddedLength(length));
            if (remaining >= 0 && RecordFrame.PaddedLength(length) > remaining)
            {
                long end = _source.Length;
                throw new XenTruncatedException(
                    string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: the {1} declares a body of {2} bytes (padded to {3}) but only {4} bytes remain.", end, XenFormatException.Where(offset, RecordIndex, name), length, RecordFrame.PaddedLength(length), remaining),
                    end,
                    RecordIndex,
                    name);
            }

            _open = true;
            _framed = true;
            return _frame;
        }

        /// <summary>
        /// Treats the next <paramref name="length"/> bytes as a body without framing or padding (for
        /// trailers such as the legacy device-model record), so they can be skipped or streamed the
        /// same way as a record body.
        /// </summary>
        public void OpenUnframed(uint type, long length)
        {
            long offset = _source.Position;
            _frame = new RecordFrame(offset - RecordFrame.HeaderSize, type, checked((uint)length));
            _open = true;
            _framed = false;
        }

        /// <summary>
        /// Decodes <paramref name="count"/> fixed-size entries from the body, in chunks that fit the read
        /// buffer, and keeps at most <paramref name="maxRetained"/> of them: memory stays bounded
        /// whatever the count (a record may be 128 MiB of entries). <paramref name="observe"/> sees
        /// every entry with its index, kept or not, so counts and checks still cover them all.
        /// </summary>
        public T[] ReadEntries<T>(long count, int entrySize, EntryDecoder<T> decode, string what, int maxRetained = int.MaxValue, Action<T, long>? observe = null)
        {
            if (count * entrySize > BodyRemaining)
            {
                throw LengthError(string.Format(CultureInfo.InvariantCulture, "{0} {1} of {2} bytes need {3} bytes but only {4} remain in its {5}-byte body", count, what, entrySize, count * entrySize, BodyRemaining, _frame.Length));
            }

            const int Initial = 1 << 16;
            long keep = Math.Min(count, maxRetained);
            T[] result = new T[_source.CanSeek || keep <= Initial ? keep : Initial];
            int perChunk = Math.Max(1, 32768 / entrySize);
            long done = 0;
            while (done < count)
            {
                int n = (int)Math.Min(perChunk, count - done);
                if (!_source.TryRead(n * entrySize, out ReadOnlySpan<byte> chunk))
                {
                    throw Truncated(what);
                }

                for (int i = 0; i < n; i++)
                {
                    long index = done + i;
                    if (index >= keep && observe is null)
                    {
                        continue;   // neither kept nor looked at: not decoded
                    }

                    T entry = decode(chunk.Slice(i * entrySize, entrySize));
                    if (index < keep)
                    {
                        if (index >= result.Length)
                        {
                            Array.Resize(ref result, (int)Math.Min((long)result.Length * 2, keep));
                        }

                        result[index] = entry;
                    }

                    observe?.Invoke(entry, index);
                }

                done += n;
            }

            return result;
        }

        /// <summary>
        /// Reads <c>words.Length</c> little-endian u64 words of the body (a PAGE_DATA pfn list) into
        /// <paramref name="words"/>, a buffer-full at a time. Compiled optimized at once: it runs per
        /// entry, and tier-0 code would cost several times the reading of the bytes.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(Hot.Optimize)]
        public void ReadWords(Span<ulong> words, string what)
        {
            long count = words.Length;
            if (count * 8 > BodyRemaining)
            {
                throw LengthError(string.Format(CultureInfo.InvariantCulture, "{0} {1} of 8 bytes need {2} bytes but only {3} remain in its {4}-byte body", count, what, count * 8, BodyRemaining, _frame.Length));
            }

            int done = 0;
            while (done < words.Length)
            {
                int n = Math.Min(4096, words.Length - done);
                if (!_source.TryRead(n * 8, out ReadOnlySpan<byte> chunk))
                {
                    throw Truncated(what);
                }

                Span<ulong> target = words.Slice(done, n);
                for (int i = 0; i < target.Length; i++)
                {
                    target[i] = BinaryPrimitives.ReadUInt64LittleEndian(chunk.Slice(i * 8));
                }

                done += n;
            }
        }

        /// <summary>
        /// Consumes <paramref name="count"/> bytes of the body (a fixed part no larger than the read
        /// buffer). A body too short for them is an <see cref="XenErrorIds.InvalidRecordLength"/> error.
        /// </summary>
        public ReadOnlySpan<byte> ReadFixed(int count, string what)
        {
            if (count > BodyRemaining)
            {
                throw LengthError(string.Format(CultureInfo.InvariantCulture, "its {0}-byte body is too short for {1} ({2} bytes needed at body offset {3})", _frame.Length, what, count, _source.Position - _frame.BodyOffset));
            }

            if (!_source.TryRead(count, out ReadOnlySpan<byte> span))
            {
                throw Truncated(what);
            }

            return span;
        }

        /// <summary>
        /// Reads <paramref name="count"/> body bytes into a new array. On input of unknown length the
        /// array grows as the bytes arrive, so a hostile length cannot make it allocate ahead of data.
        /// </summary>
        public byte[] ReadBytes(int count, string what)
        {
            if (count > BodyRemaining)
            {
                throw LengthError(string.Format(CultureInfo.InvariantCulture, "its {0}-byte body is too short for {1} ({2} bytes)", _frame.Length, what, count));
            }

            return _source.ReadArray(count) ?? throw Truncated(what);
        }

        /// <summary>Copies up to <paramref name="count"/> body bytes (for payload streams).</summary>
        public int ReadBody(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, BodyRemaining);
            if (n <= 0)
            {
                return 0;
            }

            int got = _source.Read(buffer, offset, n);
            if (got < n && BodyRemaining > 0 && got == 0)
            {
                throw Truncated("the record body");
            }

            return got;
        }

        /// <summary>
        /// Skips the unread rest of the body and reads the padding. Returns whether the padding was
        /// all zeros (the C readers ignore it; the spec and Xen's python verifier require zeros).
        /// </summary>
        public bool Finish()
        {
            if (!_open)
            {
                return true;
            }

            long rest = BodyRemaining;
            if (rest > 0 && _source.Skip(rest) != rest)
            {
                throw Truncated("the record body");
            }

            int pad = _framed ? _frame.PaddingLength : 0;
            bool zero = true;
            if (pad > 0)
            {
                if (!_source.TryRead(pad, out ReadOnlySpan<byte> padding))
                {
                    throw Truncated("the record padding");
                }

                foreach (byte b in padding)
                {
                    zero &= b == 0;
                }
            }

            _open = false;
            Generation++;
            return zero;
        }

        public XenFormatException LengthError(string detail)
        {
            string name = _nameOf(_frame.Type);
            return new XenFormatException(
                XenErrorIds.InvalidRecordLength,
                string.Format(CultureInfo.InvariantCulture, "The {0} is malformed: {1}.", XenFormatException.Where(_frame.Offset, RecordIndex, name), detail),
                _frame.Offset,
                RecordIndex,
                name);
        }

        public XenFormatException RecordError(string errorId, string detail)
        {
            string name = _nameOf(_frame.Type);
            return new XenFormatException(
                errorId,
                string.Format(CultureInfo.InvariantCulture, "The {0} is invalid: {1}.", XenFormatException.Where(_frame.Offset, RecordIndex, name), detail),
                _frame.Offset,
                RecordIndex,
                name);
        }

        public XenTruncatedException Truncated(string what)
        {
            string name = _nameOf(_frame.Type);
            return new XenTruncatedException(
                string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0} while reading {1} of the {2}.", _source.Position, what, XenFormatException.Where(_frame.Offset, RecordIndex, name)),
                _source.Position,
                RecordIndex,
                name);
        }
    }
}
