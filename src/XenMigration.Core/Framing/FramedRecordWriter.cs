using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;

namespace XenMigration.Framing
{
    /// <summary>
    /// Writes the shared 8-byte-aligned record framing (<see cref="RecordFrame"/>): header, body and
    /// zero padding, either from one span or streamed in pieces between
    /// <see cref="BeginRecord"/> and <see cref="EndRecord"/> (so multi-megabyte bodies need no buffer).
    /// </summary>
    internal sealed class FramedRecordWriter
    {
        private static readonly byte[] s_zeros = new byte[RecordFrame.Alignment];
        private readonly Stream _output;
        private readonly byte[] _header = new byte[RecordFrame.HeaderSize];
        private long _bodyRemaining = -1;
        private long _bodyLength;

        /// <summary>Creates a writer appending to <paramref name="output"/>.</summary>
        public FramedRecordWriter(Stream output, long maxLength, bool bigEndian = false)
        {
            _output = output ?? throw new ArgumentNullException(nameof(output));
            MaxLength = maxLength;
            BigEndian = bigEndian;
        }

        /// <summary>Largest body accepted (Xen's writer refuses records over REC_LENGTH_MAX).</summary>
        public long MaxLength { get; }

        /// <summary>Byte order of the framing fields.</summary>
        public bool BigEndian { get; set; }

        /// <summary>Bytes written through this writer, headers and raw writes included.</summary>
        public long Position { get; private set; }

        /// <summary>Writes raw bytes (headers that are not framed).</summary>
        public void WriteRaw(ReadOnlySpan<byte> bytes)
        {
            EnsureNoOpenRecord();
            Write(bytes);
        }

        /// <summary>Writes a whole record.</summary>
        public void WriteRecord(uint type, ReadOnlySpan<byte> body)
        {
            BeginRecord(type, body.Length);
            WriteBody(body);
            EndRecord();
        }

        /// <summary>Writes a record header announcing <paramref name="length"/> body bytes.</summary>
        public void BeginRecord(uint type, long length)
        {
            EnsureNoOpenRecord();
            if (length < 0 || length > MaxLength || length > uint.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(length), string.Format(CultureInfo.InvariantCulture, "A record body of {0} bytes exceeds the {1}-byte limit.", length, MaxLength));
            }

            if (BigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(_header, type);
                BinaryPrimitives.WriteUInt32BigEndian(_header.AsSpan(4), (uint)length);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(_header, type);
                BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)length);
            }

            Write(_header);
            _bodyRemaining = length;
            _bodyLength = length;
        }

        /// <summary>Writes part of the body of the open record.</summary>
        public void WriteBody(ReadOnlySpan<byte> bytes)
        {
            if (_bodyRemaining < 0)
            {
                throw new InvalidOperationException("No record is open.");
            }

            if (bytes.Length > _bodyRemaining)
            {
                throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "The record body would exceed its declared {0} bytes.", _bodyLength));
            }

            Write(bytes);
            _bodyRemaining -= bytes.Length;
        }

        /// <summary>Writes part of the body of the open record straight from an array (no copy).</summary>
        public void WriteBody(byte[] buffer, int offset, int count)
        {
            if (_bodyRemaining < 0)
            {
                throw new InvalidOperationException("No record is open.");
            }

            if (count > _bodyRemaining)
            {
                throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "The record body would exceed its declared {0} bytes.", _bodyLength));
            }

            _output.Write(buffer, offset, count);
            Position += count;
            _bodyRemaining -= count;
        }

        /// <summary>
        /// Copies <paramref name="count"/> body bytes straight from <paramref name="source"/> (by the
        /// kernel when both ends are files). Returns the bytes copied; fewer means the input ended.
        /// </summary>
        internal long CopyBody(StreamSource source, long count, byte[] scratch)
        {
            if (_bodyRemaining < 0 || count > _bodyRemaining)
            {
                throw new InvalidOperationException("The copy does not fit the open record's body.");
            }

            long n = source.CopyTo(_output, count, scratch);
            Position += n;
            _bodyRemaining -= n;
            return n;
        }

        /// <summary>Copies raw (unframed) bytes from <paramref name="source"/>, as <see cref="CopyBody"/> does.</summary>
        internal long CopyRaw(StreamSource source, long count, byte[] scratch)
        {
            EnsureNoOpenRecord();
            long n = source.CopyTo(_output, count, scratch);
            Position += n;
            return n;
        }

        /// <summary>Closes the open record: checks the body is complete and writes the padding.</summary>
        public void EndRecord()
        {
            if (_bodyRemaining != 0)
            {
                throw new InvalidOperationException(_bodyRemaining < 0
                    ? "No record is open."
                    : string.Format(CultureInfo.InvariantCulture, "The record body is {0} bytes short of its declared {1}.", _bodyRemaining, _bodyLength));
            }

            Write(new ReadOnlySpan<byte>(s_zeros, 0, RecordFrame.PaddingFor(_bodyLength)));
            _bodyRemaining = -1;
        }

        private void EnsureNoOpenRecord()
        {
            if (_bodyRemaining >= 0)
            {
                throw new InvalidOperationException("A record is still open.");
            }
        }

        private void Write(ReadOnlySpan<byte> bytes)
        {
            if (bytes.IsEmpty)
            {
                return;
            }

            // netstandard2.0 streams take arrays; small pieces go through a pooled copy.
            byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(bytes.Length, 1 << 20));
            try
            {
                while (!bytes.IsEmpty)
                {
                    int n = Math.Min(bytes.Length, rented.Length);
                    bytes.Slice(0, n).CopyTo(rented);
                    _output.Write(rented, 0, n);
                    bytes = bytes.Slice(n);
                    Position += n;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
