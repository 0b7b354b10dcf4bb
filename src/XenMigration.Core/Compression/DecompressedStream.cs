using System;
using System.Globalization;
using System.IO;

namespace XenMigration.Compression
{
    /// <summary>
    /// A decompressor's output, read forward only, whose corrupt-data errors become format errors at
    /// the decompressed offset where they happened (a damaged image is bad input, not a crash).
    /// </summary>
    internal sealed class DecompressedStream : Framing.ForwardReadStream
    {
        private readonly Stream _inner;
        private readonly string _format;
        private long _position;

        public DecompressedStream(Stream inner, string format)
        {
            _inner = inner;
            _format = format;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                int n = _inner.Read(buffer, offset, count);
                _position += n;
                return n;
            }
            catch (InvalidDataException e)
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The {0}-compressed QEMU stream is corrupt after {1} decompressed bytes: {2}", _format, _position, e.Message), _position);
            }
        }

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
