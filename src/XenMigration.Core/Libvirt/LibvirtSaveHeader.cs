using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Libvirt
{
    /// <summary>Compression of the QEMU stream inside a libvirt save image (header field "format").</summary>
    public enum LibvirtCompression
    {
        /// <summary>Not compressed.</summary>
        Raw = 0,
        /// <summary>gzip.</summary>
        Gzip = 1,
        /// <summary>bzip2.</summary>
        Bzip2 = 2,
        /// <summary>xz.</summary>
        Xz = 3,
        /// <summary>lzop.</summary>
        Lzop = 4,
        /// <summary>zstd (newer libvirt).</summary>
        Zstd = 5,
        /// <summary>sparse / mapped-ram (newer libvirt).</summary>
        Sparse = 6,
    }

    /// <summary>The header of a libvirt QEMU save image (docs/formats qemu §8.11).</summary>
    public sealed class LibvirtSaveHeader
    {
        internal LibvirtSaveHeader(string? filePath, string magic, uint version, uint dataLength, bool wasRunning, LibvirtCompression compression, uint cookieOffset, string xml, string? cookie)
        {
            FilePath = filePath;
            Magic = magic;
            Version = version;
            DataLength = dataLength;
            WasRunning = wasRunning;
            Compression = compression;
            CookieOffset = cookieOffset;
            Xml = xml;
            Cookie = cookie;
        }

        /// <summary>The file the header was read from.</summary>
        public string? FilePath { get; }

        /// <summary>"LibvirtQemudSave".</summary>
        public string Magic { get; }

        /// <summary>Header version (1 or 2).</summary>
        public uint Version { get; }

        /// <summary>Bytes between the header and the QEMU stream (XML, cookie, padding).</summary>
        public uint DataLength { get; }

        /// <summary>True when libvirt resumes the guest after restore.</summary>
        public bool WasRunning { get; }

        /// <summary>How the QEMU stream is compressed.</summary>
        public LibvirtCompression Compression { get; }

        /// <summary>Offset of the cookie in the data area; 0 when there is none.</summary>
        public uint CookieOffset { get; }

        /// <summary>The domain XML.</summary>
        public string Xml { get; }

        /// <summary>The cookie XML, when there is one.</summary>
        public string? Cookie { get; }

        /// <summary>File offset of the QEMU stream (92 + DataLength).</summary>
        public long StreamOffset => LibvirtFormat.HeaderSize + (long)DataLength;
    }

    /// <summary>The libvirt QEMU driver's save-image header: 16-byte magic, then 19 host-order u32, then the XML.</summary>
    internal static class LibvirtFormat
    {
        public const int HeaderSize = 92;
        public const string Magic = "LibvirtQemudSave";
        public const string PartialMagic = "LibvirtQemudPart";

        /// <summary>Whether an input starts like a libvirt QEMU save image ("LibvirtQemud", or a prefix of it).</summary>
        public static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, "LibvirtQemud");

        /// <summary>The command that decompresses a libvirt image's stream of <paramref name="format"/>.</summary>
        public static string CompressorCommand(LibvirtCompression format) => format switch
        {
            LibvirtCompression.Gzip => "gzip -dc",
            LibvirtCompression.Bzip2 => "bzip2 -dc",
            LibvirtCompression.Xz => "xz -dc",
            LibvirtCompression.Lzop => "lzop -dc",
            LibvirtCompression.Zstd => "zstd -dc",
            _ => string.Empty,
        };

        /// <summary>
        /// Reads the header and its XML data from <paramref name="stream"/> (positioned at the
        /// magic; <paramref name="head"/> holds its first bytes), leaving the stream at the QEMU data.
        /// </summary>
        /// <exception cref="XenFormatException">The header is partial, malformed or truncated.</exception>
        public static LibvirtSaveHeader Read(Stream stream, ReadOnlySpan<byte> head, string? filePath)
        {
            if (head.Length < HeaderSize)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: a libvirt save header is {1} bytes.", head.Length, HeaderSize), head.Length);
            }

            string magic = Encoding.ASCII.GetString(head.Slice(0, 16).ToArray());
            if (magic == PartialMagic)
            {
                throw new XenFormatException(XenErrorIds.PartialImage, "The libvirt save image is incomplete (magic \"LibvirtQemudPart\"): libvirt writes that magic first and replaces it when the save has finished, so this save was interrupted.", 0);
            }

            if (magic != Magic)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, "The libvirt save header's magic is \"" + magic.TrimEnd('\0') + "\", not \"LibvirtQemudSave\".", 0);
            }

            // Host byte order; a version that makes no sense little-endian is tried big-endian (as libvirt does).
            bool big = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(16)) > 2 && BinaryPrimitives.ReadUInt32BigEndian(head.Slice(16)) <= 2;
            var fields = new SpanReader(head.Slice(16, 20), big);
            uint version = fields.U32();
            uint dataLength = fields.U32();
            uint wasRunning = fields.U32();
            uint compressed = version >= 2 ? fields.U32() : 0;
            uint cookieOffset = version >= 2 ? fields.U32() : 0;
            if (compressed > (uint)LibvirtCompression.Sparse)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "The libvirt save header's compression format is {0}; libvirt defines 0-6.", compressed), 28);
            }

            if (version is < 1 or > 2)
            {
                throw new XenFormatException(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "libvirt save image version {0} is not supported (versions 1 and 2 are).", version), 16);
            }

            if (dataLength > Limits.MaxLibvirtData)
            {
                throw new XenFormatException(XenErrorIds.RecordTooLarge, string.Format(CultureInfo.InvariantCulture, "The libvirt save header at offset 0 gives {0} bytes of XML data; at most {1} are accepted.", dataLength, Limits.MaxLibvirtData), 20);
            }

            if (cookieOffset > dataLength)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "The libvirt save header's cookie offset {0} (at offset 32) is past the end of its {1} bytes of XML data.", cookieOffset, dataLength), 32);
            }

            byte[] skip = new byte[HeaderSize];
            ForwardReadStream.ReadFully(stream, skip, 0, HeaderSize);
            // Read in pieces: memory follows the bytes that are there, not the length the header claims.
            byte[]? data = ReadUpTo(stream, (int)dataLength);
            if (data is null)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream in the libvirt save image's XML data ({0} bytes from offset 92).", dataLength), HeaderSize);
            }

            string xml = NulTerminated(data, 0, (int)(cookieOffset == 0 ? dataLength : cookieOffset));
            string? cookie = cookieOffset == 0 ? null : NulTerminated(data, (int)cookieOffset, (int)(dataLength - cookieOffset));
            return new LibvirtSaveHeader(filePath, magic, version, dataLength, wasRunning != 0, (LibvirtCompression)compressed, cookieOffset, xml, cookie);
        }

        private static byte[]? ReadUpTo(Stream stream, int length)
        {
            var buffer = new MemoryStream(Math.Min(length, 64 << 10));
            byte[] chunk = new byte[Math.Min(length, 64 << 10)];
            while (buffer.Length < length)
            {
                int n = ForwardReadStream.ReadFully(stream, chunk, 0, (int)Math.Min(chunk.Length, length - buffer.Length));
                if (n == 0)
                {
                    return null;
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }

        private static string NulTerminated(byte[] data, int start, int max)
        {
            int end = start;
            while (end < start + max && data[end] != 0)
            {
                end++;
            }

            return Encoding.UTF8.GetString(data, start, end - start);
        }
    }
}
