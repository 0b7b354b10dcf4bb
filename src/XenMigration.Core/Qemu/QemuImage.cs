using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Text;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.Libxl;
using XenMigration.XenStream;

namespace XenMigration.Qemu
{
    /// <summary>What holds a QEMU stream.</summary>
    public enum QemuContainer
    {
        /// <summary>A bare QEVM stream (<c>migrate "exec:cat > f"</c>, xen-save-devices-state).</summary>
        Stream,
        /// <summary>A libvirt save image (<c>virsh save</c>, managed save).</summary>
        Libvirt,
        /// <summary>A Xen libxl EMULATOR_CONTEXT record.</summary>
        XenEmulatorContext,
        /// <summary>Xen's legacy "DeviceModelRecord0002" record (Xen 4.5 and older).</summary>
        XenDeviceModelRecord,
    }

    /// <summary>The header of a libvirt save image (docs/formats §8.11).</summary>
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
        public long StreamOffset => QemuFormat.LibvirtHeaderSize + (long)DataLength;
    }

    /// <summary>
    /// An opened QEMU stream and what held it. Dispose it to close the file.
    /// </summary>
    public sealed class QemuImage : IDisposable
    {
        private QemuImage(QemuStreamReader reader, QemuContainer container, long streamOffset, LibvirtSaveHeader? libvirt, long? xenRecordIndex)
        {
            Reader = reader;
            Container = container;
            StreamOffset = streamOffset;
            Libvirt = libvirt;
            XenRecordIndex = xenRecordIndex;
        }

        /// <summary>The reader, positioned at the QEVM header.</summary>
        public QemuStreamReader Reader { get; }

        /// <summary>What held the stream.</summary>
        public QemuContainer Container { get; }

        /// <summary>Offset of the QEVM header in the file (for a compressed libvirt image: 0, offsets are in the decompressed stream).</summary>
        public long StreamOffset { get; }

        /// <summary>The libvirt header, for a libvirt save image.</summary>
        public LibvirtSaveHeader? Libvirt { get; }

        /// <summary>Index of the Xen record that held the stream (EMULATOR_CONTEXT).</summary>
        public long? XenRecordIndex { get; }

        /// <inheritdoc/>
        public void Dispose() => Reader.Dispose();

        /// <summary>
        /// Opens every QEMU stream in a file: a QEVM stream, a libvirt save image, a Xen
        /// "DeviceModelRecord0002" record, or each EMULATOR_CONTEXT of a Xen save image (one per
        /// checkpoint). Images are opened one at a time, as the enumeration advances.
        /// </summary>
        /// <exception cref="XenFormatException">The file holds no QEMU stream, or its container is malformed.</exception>
        public static IEnumerable<QemuImage> OpenFile(string path, QemuStreamReaderOptions? options = null)
        {
            options ??= new QemuStreamReaderOptions();
            options.SourcePath ??= path;
            byte[] head = new byte[QemuFormat.LibvirtHeaderSize];
            int got;
            using (FileStream probe = XenFile.OpenRead(path))
            {
                got = ReadFully(probe, head, head.Length);
            }

            DetectedFormat format = FormatDetector.Detect(head.AsSpan(0, Math.Min(got, FormatDetector.ProbeLength)));
            if (format is DetectedFormat.XlSaveFile or DetectedFormat.Libxl or DetectedFormat.Libxc)
            {
                return OpenXenFile(path, options);
            }

            FileStream file = XenFile.OpenRead(path);
            try
            {
                return new[] { Open(file, leaveOpen: false, options) };
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        private static IEnumerable<QemuImage> OpenXenFile(string path, QemuStreamReaderOptions options)
        {
            var contexts = new List<(long Index, long Offset, long Length)>();
            using (var xen = new XenStreamReader(XenFile.OpenRead(path), leaveOpen: false, new XenStreamReaderOptions { SourcePath = path }))
            {
                while (xen.ReadNext() is XenStreamRecord r)
                {
                    if (r is EmulatorContextRecord ec)
                    {
                        contexts.Add((ec.Index, ec.PayloadOffset, ec.PayloadLength));
                    }
                }
            }

            if (contexts.Count == 0)
            {
                throw new XenFormatException(XenErrorIds.NoQemuState, "The Xen save image has no EMULATOR_CONTEXT record (a PV guest, or an HVM image without device-model state): there is no QEMU state in it.", 0);
            }

            foreach ((long index, long offset, long length) in contexts)
            {
                yield return OpenWindow(path, offset, length, index, options);
            }
        }

        /// <summary>Opens the QEMU stream in a Xen EMULATOR_CONTEXT record, from its file when it has one, else from the reader it came from (while it is current).</summary>
        public static QemuImage OpenXenRecord(EmulatorContextRecord record, QemuStreamReaderOptions? options = null)
        {
            if (record is null)
            {
                throw new ArgumentNullException(nameof(record));
            }

            options ??= new QemuStreamReaderOptions();
            if (record.FilePath is string path && File.Exists(path))
            {
                options.SourcePath ??= path;
                return OpenWindow(path, record.PayloadOffset, record.PayloadLength, record.Index, options);
            }

            options.BaseOffset = record.PayloadOffset;
            return new QemuImage(new QemuStreamReader(record.OpenPayload(), leaveOpen: false, options), QemuContainer.XenEmulatorContext, record.PayloadOffset, null, record.Index);
        }

        private static QemuImage OpenWindow(string path, long offset, long length, long index, QemuStreamReaderOptions options)
        {
            FileStream file = XenFile.OpenRead(path);
            try
            {
                var window = new WindowStream(file, offset, length);
                options.BaseOffset = offset;
                options.DescriptionJson = LocateDescription(window);
                window.Position = 0;
                return new QemuImage(new QemuStreamReader(window, leaveOpen: false, options), QemuContainer.XenEmulatorContext, offset, null, index);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Opens the QEMU stream at the current position of <paramref name="stream"/>: a bare QEVM
        /// stream, a libvirt save image or a Xen "DeviceModelRecord0002" record.
        /// </summary>
        public static QemuImage Open(Stream stream, bool leaveOpen = false, QemuStreamReaderOptions? options = null)
        {
            if (stream is null)
            {
                throw new ArgumentNullException(nameof(stream));
            }

            options ??= new QemuStreamReaderOptions();
            var buffered = stream.CanSeek ? stream : new PeekStream(stream);
            long start = stream.CanSeek ? stream.Position : 0;
            byte[] head = new byte[QemuFormat.LibvirtHeaderSize];
            int got = ReadFully(buffered, head, head.Length);
            ReadOnlySpan<byte> h = head.AsSpan(0, got);
            Rewind(buffered, start);

            if (FormatDetector.HasAsciiPrefix(h, "QEVM"))
            {
                return FromStream(buffered, leaveOpen, options, QemuContainer.Stream, start, start, null);
            }

            if (FormatDetector.HasAsciiPrefix(h, QemuFormat.XenDeviceModelSignature))
            {
                int sig = QemuFormat.XenDeviceModelSignature.Length;
                if (got < sig + 4)
                {
                    throw new XenTruncatedException("Unexpected end of stream at offset 0x15: the device-model record's length is cut off.", sig);
                }

                // Xen's legacy stream stores this length little-endian (the host order of x86 Xen).
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(sig));
                long offset = start + sig + 4;
                if (buffered.CanSeek)
                {
                    var window = new WindowStream(buffered, offset, length, leaveOpen);
                    return FromStream(window, false, options, QemuContainer.XenDeviceModelRecord, 0, offset, null);
                }

                Skip(buffered, sig + 4);
                options.BaseOffset = sig + 4;
                return new QemuImage(new QemuStreamReader(buffered, leaveOpen, options), QemuContainer.XenDeviceModelRecord, sig + 4, null, null);
            }

            if (FormatDetector.HasAsciiPrefix(h, "LibvirtQemud"))
            {
                return OpenLibvirt(buffered, leaveOpen, options, start, h);
            }

            DetectedFormat format = FormatDetector.Detect(h.Slice(0, Math.Min(h.Length, FormatDetector.ProbeLength)));
            throw FormatDetector.Refuse(format, h.Slice(0, Math.Min(h.Length, FormatDetector.ProbeLength)), 0, "a QEMU migration stream", "Expected \"QEVM\", a libvirt save image (\"LibvirtQemudSave\"), a Xen save image with an EMULATOR_CONTEXT record, or Xen's \"DeviceModelRecord0002\".");
        }

        private static QemuImage OpenLibvirt(Stream stream, bool leaveOpen, QemuStreamReaderOptions options, long start, ReadOnlySpan<byte> h)
        {
            if (h.Length < QemuFormat.LibvirtHeaderSize)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: a libvirt save header is {1} bytes.", h.Length, QemuFormat.LibvirtHeaderSize), h.Length);
            }

            string magic = Encoding.ASCII.GetString(h.Slice(0, 16).ToArray());
            if (magic == QemuFormat.LibvirtPartialMagic)
            {
                throw new XenFormatException(XenErrorIds.PartialImage, "The libvirt save image is incomplete (magic \"LibvirtQemudPart\"): libvirt writes that magic first and replaces it when the save has finished, so this save was interrupted.", 0);
            }

            if (magic != QemuFormat.LibvirtMagic)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, "The libvirt save header's magic is \"" + magic.TrimEnd('\0') + "\", not \"LibvirtQemudSave\".", 0);
            }

            // Host byte order; a version that makes no sense little-endian is tried big-endian (as libvirt does).
            bool big = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(16)) > 2 && BinaryPrimitives.ReadUInt32BigEndian(h.Slice(16)) <= 2;
            byte[] fields = h.Slice(16, 20).ToArray();
            uint Field(int index) => big ? BinaryPrimitives.ReadUInt32BigEndian(fields.AsSpan(4 * index)) : BinaryPrimitives.ReadUInt32LittleEndian(fields.AsSpan(4 * index));
            uint version = Field(0);
            uint dataLength = Field(1);
            uint wasRunning = Field(2);
            uint compressed = version >= 2 ? Field(3) : 0;
            uint cookieOffset = version >= 2 ? Field(4) : 0;
            if (compressed > (uint)LibvirtCompression.Sparse)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "The libvirt save header's compression format is {0}; libvirt defines 0-6.", compressed), 28);
            }

            if (version is < 1 or > 2)
            {
                throw new XenFormatException(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "libvirt save image version {0} is not supported (versions 1 and 2 are).", version), 16);
            }

            if (dataLength > QemuFormat.MaxLibvirtData || cookieOffset > dataLength)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "The libvirt save header gives {0} bytes of XML data (cookie at {1}); at most 64 MiB are accepted.", dataLength, cookieOffset), 20);
            }

            Skip(stream, QemuFormat.LibvirtHeaderSize);
            byte[] data = new byte[dataLength];
            if (ReadFully(stream, data, data.Length) != data.Length)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream in the libvirt save image's XML data ({0} bytes from offset 92).", dataLength), QemuFormat.LibvirtHeaderSize);
            }

            string xml = NulTerminated(data, 0, (int)(cookieOffset == 0 ? dataLength : cookieOffset));
            string? cookie = cookieOffset == 0 ? null : NulTerminated(data, (int)cookieOffset, (int)(dataLength - cookieOffset));
            var header = new LibvirtSaveHeader(options.SourcePath, magic, version, dataLength, wasRunning != 0, (LibvirtCompression)compressed, cookieOffset, xml, cookie);
            long streamOffset = start + header.StreamOffset;
            switch (header.Compression)
            {
                case LibvirtCompression.Raw:
                    return FromStream(stream, leaveOpen, options, QemuContainer.Libvirt, streamOffset, streamOffset, header);
                case LibvirtCompression.Gzip:
                    // Offsets are then in the decompressed stream: the file's gzip bytes have no record boundaries.
                    options.BaseOffset = 0;
                    return new QemuImage(new QemuStreamReader(new DecompressedStream(new GZipStream(stream, CompressionMode.Decompress, leaveOpen), "gzip"), false, options), QemuContainer.Libvirt, 0, header, null);
                default:
                    string tool = QemuFormat.CompressorCommand(header.Compression);
                    throw new XenFormatException(
                        XenErrorIds.UnsupportedCompression,
                        string.Format(CultureInfo.InvariantCulture, "The libvirt save image's QEMU stream is {0}-compressed, which this module does not decompress (gzip it does). Decompress it first: tail -c +{1} FILE | {2} > guest.qevm", header.Compression.ToString().ToLowerInvariant(), streamOffset + 1, tool.Length == 0 ? "(format " + compressed.ToString(CultureInfo.InvariantCulture) + ")" : tool),
                        28);
            }
        }

        // position: where the QEVM header is in `stream`; reported: where it is in the file, for offsets.
        private static QemuImage FromStream(Stream stream, bool leaveOpen, QemuStreamReaderOptions options, QemuContainer container, long position, long reported, LibvirtSaveHeader? libvirt)
        {
            options.BaseOffset = reported;
            if (stream.CanSeek)
            {
                var window = new WindowStream(stream, position, stream.Length - position, leaveOpen);
                options.DescriptionJson ??= LocateDescription(window);
                window.Position = 0;
                return new QemuImage(new QemuStreamReader(window, false, options), container, reported, libvirt, null);
            }

            return new QemuImage(new QemuStreamReader(stream, leaveOpen, options), container, reported, libvirt, null);
        }

        /// <summary>
        /// Finds the JSON VM description at the end of a seekable stream without walking it: a 0x06,
        /// a be32 length, and JSON that ends exactly at the end (docs/formats §8.9). Null when absent.
        /// </summary>
        internal static string? LocateDescription(Stream stream)
        {
            long end = stream.Length;
            if (end < 16)
            {
                return null;
            }

            byte[] last = new byte[1];
            stream.Position = end - 1;
            if (ReadFully(stream, last, 1) != 1 || last[0] != (byte)'}')
            {
                return null;
            }

            const int Window = 1 << 20;
            long scanned = 0;
            while (scanned < QemuFormat.MaxDescription && scanned < end)
            {
                long windowEnd = end - scanned;
                long windowStart = Math.Max(0, windowEnd - Window);
                int size = (int)(Math.Min(windowEnd + 5, end) - windowStart);   // 5 bytes of overlap for a header across windows
                byte[] buf = new byte[size];
                stream.Position = windowStart;
                if (ReadFully(stream, buf, size) != size)
                {
                    return null;
                }

                for (int i = (int)(windowEnd - windowStart) - 1; i >= 0; i--)
                {
                    if (buf[i] != QemuFormat.VmDescription || i + 6 > size)
                    {
                        continue;
                    }

                    long json = windowStart + i + 5;
                    uint length = BinaryPrimitives.ReadUInt32BigEndian(buf.AsSpan(i + 1));
                    if (json + length == end && buf[i + 5] == (byte)'{' && windowStart + i > 0)
                    {
                        byte[] text = new byte[length];
                        stream.Position = json;
                        return ReadFully(stream, text, text.Length) == text.Length ? Encoding.UTF8.GetString(text) : null;
                    }
                }

                scanned += windowEnd - windowStart;
            }

            return null;
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

        private static int ReadFully(Stream s, byte[] buffer, int count) => ForwardReadStream.ReadFully(s, buffer, 0, count);

        private static void Rewind(Stream s, long start)
        {
            if (s is PeekStream p)
            {
                p.Rewind();
            }
            else
            {
                s.Position = start;
            }
        }

        private static void Skip(Stream s, int count)
        {
            byte[] scratch = new byte[Math.Min(count, 4096)];
            int left = count;
            while (left > 0)
            {
                int n = s.Read(scratch, 0, Math.Min(left, scratch.Length));
                if (n <= 0)
                {
                    break;
                }

                left -= n;
            }
        }
    }
}
