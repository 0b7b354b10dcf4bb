using System;
using System.Globalization;
using System.IO;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;
using SharpCompress.Compressors.ZStandard;
using XenMigration.Framing;

namespace XenMigration.Compression
{
    /// <summary>The compressors libvirt runs over a saved QEMU stream that a library decompresses here.</summary>
    internal enum LibraryCompressor
    {
        Xz,
        Bzip2,
        Zstd,
    }

    /// <summary>
    /// The output of an xz, bzip2 or zstd file (SharpCompress, managed), streamed: nothing beyond
    /// the decompressors' own windows is held, so a bomb costs time, not memory, and the reader above
    /// can be stopped. The decompressors check the formats' own checksums (xz's CRC/SHA, bzip2's block
    /// and stream CRCs, zstd's content checksum when the frame has one); whatever they refuse, and an
    /// input that ends inside the data, becomes a CorruptCompressedData error naming where. An I/O
    /// error of the file underneath stays an I/O error.
    /// </summary>
    internal sealed class LibraryDecompressStream : ForwardReadStream
    {
        private readonly CompressedInput _raw;
        private readonly Stream _decoder;
        private readonly string _name;
        private long _position;

        public LibraryDecompressStream(Stream compressed, LibraryCompressor kind, bool leaveOpen)
        {
            _raw = new CompressedInput(compressed, leaveOpen);
            _name = kind.ToString().ToLowerInvariant();
            try
            {
                _decoder = kind switch
                {
                    LibraryCompressor.Xz => new XZStream(_raw),
                    LibraryCompressor.Bzip2 => BZip2Stream.Create(_raw, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: false, tolerateTruncatedStream: false),
                    _ => new DecompressionStream(_raw, 1 << 17, checkEndOfStream: true, leaveOpen: false),
                };
            }
            catch (Exception e) when (IsDecoderFault(e))
            {
                throw Corrupt("its header is invalid (" + e.Message.TrimEnd('.') + ")");
            }
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n;
            try
            {
                n = _decoder.Read(buffer, offset, count);
            }
            catch (Exception e) when (IsDecoderFault(e))
            {
                throw Corrupt("it is corrupt or cut off (" + e.Message.TrimEnd('.') + ")");
            }

            _position += n;
            return n;
        }

        // A fault of the data, not of the file: the raw stream records its own I/O errors.
        private bool IsDecoderFault(Exception e) => !_raw.Failed && e is not OperationCanceledException && e is not OutOfMemoryException
            && (e is InvalidDataException || e is InvalidOperationException || e is ArgumentException || e is IndexOutOfRangeException
                || e is EndOfStreamException || e is NotSupportedException || e is IOException || e is OverflowException
                || e.GetType().Namespace?.StartsWith("SharpCompress", StringComparison.Ordinal) == true);

        private XenFormatException Corrupt(string what) =>
            new XenFormatException(XenErrorIds.CorruptCompressedData, string.Format(CultureInfo.InvariantCulture, "The {0}-compressed data is invalid after {1} decompressed bytes ({2} compressed bytes read): {3}.", _name, _position, _raw.Consumed, what), _position);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _decoder?.Dispose();
                _raw.Dispose();
            }

            base.Dispose(disposing);
        }

        /// <summary>Counts what the decoder reads, and remembers whether the file itself failed.</summary>
        internal sealed class CompressedInput : ForwardReadStream
        {
            private readonly Stream _inner;
            private readonly bool _leaveOpen;

            public CompressedInput(Stream inner, bool leaveOpen)
            {
                _inner = inner;
                _leaveOpen = leaveOpen;
            }

            public long Consumed { get; private set; }

            public bool Failed { get; private set; }

            // The xz decoder asks where it is (for its index and padding checks): the bytes read so far.
            public override long Position
            {
                get => Consumed;
                set => throw new NotSupportedException();
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                int n;
                try
                {
                    n = _inner.Read(buffer, offset, count);
                }
                catch (IOException)
                {
                    Failed = true;
                    throw;
                }

                Consumed += n;
                return n;
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
