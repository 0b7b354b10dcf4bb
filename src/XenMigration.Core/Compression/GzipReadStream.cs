using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using XenMigration.Framing;

namespace XenMigration.Compression
{
    /// <summary>
    /// The output of a gzip file, checked as gzip checks it: at the end of the data, the last eight
    /// bytes of the input must be the CRC-32 and length of what was decompressed. A trailer cut off,
    /// garbage after it, or data that does not match its checksum is a format error naming what is
    /// wrong, never memory returned as if it were good.
    /// </summary>
    internal sealed class GzipReadStream : ForwardReadStream
    {
        private readonly TailStream _raw;
        private readonly GZipStream _gzip;
        private long _position;
        private uint _crc;
        private bool _verified;

        public GzipReadStream(Stream compressed, bool leaveOpen)
        {
            _raw = new TailStream(compressed, leaveOpen);
            _gzip = new GZipStream(_raw, CompressionMode.Decompress, leaveOpen: false);
        }

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n;
            try
            {
                n = _gzip.Read(buffer, offset, count);
            }
            catch (InvalidDataException e)
            {
                throw Corrupt("it is corrupt (" + e.Message.TrimEnd('.') + ")");
            }

            if (n > 0)
            {
                _crc = Checksums.Crc32(_crc, new ReadOnlySpan<byte>(buffer, offset, n));
                _position += n;
            }
            else if (count > 0 && !_verified)
            {
                _verified = true;
                VerifyTrailer();
            }

            return n;
        }

        // gzip's trailer: CRC-32 then ISIZE (the length mod 2^32), little-endian, the last 8 bytes.
        private void VerifyTrailer()
        {
            _raw.DrainToEnd();
            if (_raw.TailLength < 8)
            {
                throw Corrupt("its 8-byte trailer (CRC-32 and length) is cut off");
            }

            ReadOnlySpan<byte> tail = _raw.Tail;
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(tail);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(tail.Slice(4));
            if (crc != _crc || size != unchecked((uint)_position))
            {
                throw Corrupt(string.Format(CultureInfo.InvariantCulture, "its trailer (CRC-32 0x{0:x8}, length {1}) does not match the {2} bytes decompressed (CRC-32 0x{3:x8}): the data is damaged, the trailer cut off, or bytes follow it", crc, size, _position, _crc));
            }
        }

        private XenFormatException Corrupt(string what) =>
            new XenFormatException(XenErrorIds.CorruptCompressedData, string.Format(CultureInfo.InvariantCulture, "The gzip-compressed data is invalid after {0} decompressed bytes ({1} compressed bytes read): {2}.", _position, _raw.Consumed, what), _position);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gzip.Dispose();
            }

            base.Dispose(disposing);
        }

        /// <summary>Passes reads through and remembers the last eight bytes and how many were read.</summary>
        private sealed class TailStream : ForwardReadStream
        {
            private readonly Stream _inner;
            private readonly bool _leaveOpen;
            private readonly byte[] _tail = new byte[8];

            public TailStream(Stream inner, bool leaveOpen)
            {
                _inner = inner;
                _leaveOpen = leaveOpen;
            }

            public long Consumed { get; private set; }

            public int TailLength => (int)Math.Min(Consumed, 8);

            public ReadOnlySpan<byte> Tail => new ReadOnlySpan<byte>(_tail, 8 - TailLength, TailLength);

            public override int Read(byte[] buffer, int offset, int count)
            {
                int n = _inner.Read(buffer, offset, count);
                Remember(buffer, offset, n);
                return n;
            }

            public void DrainToEnd()
            {
                byte[] scratch = new byte[1 << 16];
                int n;
                while ((n = _inner.Read(scratch, 0, scratch.Length)) > 0)
                {
                    Remember(scratch, 0, n);
                }
            }

            private void Remember(byte[] buffer, int offset, int n)
            {
                if (n <= 0)
                {
                    return;
                }

                Consumed += n;
                if (n >= 8)
                {
                    Buffer.BlockCopy(buffer, offset + n - 8, _tail, 0, 8);
                }
                else
                {
                    Buffer.BlockCopy(_tail, n, _tail, 0, 8 - n);
                    Buffer.BlockCopy(buffer, offset, _tail, 8 - n, n);
                }
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing && !_leaveOpen)
                {
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
