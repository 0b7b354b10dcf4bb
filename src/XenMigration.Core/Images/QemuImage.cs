using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using XenMigration.Compression;
using XenMigration.DeviceModel;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.Libvirt;
using XenMigration.Libxl;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.XenStream;

namespace XenMigration.Images
{
    /// <summary>What holds a QEMU stream.</summary>
    internal enum QemuContainer
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

    /// <summary>
    /// An opened QEMU stream and what held it: a bare stream, a libvirt save image, a Xen
    /// EMULATOR_CONTEXT record or Xen's DeviceModelRecord0002. Dispose it to close the input.
    /// </summary>
    internal sealed class QemuImage : IDisposable
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
        /// checkpoint). The file is opened once and its format detected from that one open input, so
        /// FIFOs and /dev/stdin work; images are opened one at a time, as the enumeration advances.
        /// </summary>
        /// <exception cref="XenFormatException">The file holds no QEMU stream, or its container is malformed.</exception>
        public static IEnumerable<QemuImage> OpenFile(string path, QemuStreamReaderOptions? options = null)
        {
            options ??= new QemuStreamReaderOptions();
            options.SourcePath ??= path;
            FileStream file = XenFile.OpenRead(path);
            try
            {
                Stream input = file.CanSeek ? file : new PeekStream(file);
                ReadOnlySpan<byte> head = PeekStream.Probe(input, FormatDetector.ProbeLength);
                DetectedFormat format = FormatDetector.Detect(head);
                if (format is DetectedFormat.Libxl or DetectedFormat.Libxc || ContainerRegistry.IsContainer(format))
                {
                    return OpenXen(input, path, options);
                }

                return new[] { Open(input, leaveOpen: false, options) };
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        // Each EMULATOR_CONTEXT of a Xen image, opened while the Xen reader is at it (so a pipe works).
        private static IEnumerable<QemuImage> OpenXen(Stream input, string path, QemuStreamReaderOptions options)
        {
            using var xen = new XenStreamReader(input, leaveOpen: false, new XenStreamReaderOptions { SourcePath = path });
            bool any = false;
            while (xen.ReadNext() is XenStreamRecord r)
            {
                if (r is EmulatorContextRecord ec)
                {
                    any = true;
                    yield return OpenXenRecord(ec, options.Clone());
                }
                else if (r is XenServer.XenServerRecord { Kind: XenServer.XenServerRecordKind.QemuXen or XenServer.XenServerRecordKind.QemuTrad } xs)
                {
                    any = true;
                    yield return OpenXenPayload(xs, options.Clone());
                }
            }

            if (!any)
            {
                throw new XenFormatException(XenErrorIds.NoQemuState, "The Xen save image has no EMULATOR_CONTEXT record (a PV guest, or an HVM image without device-model state): there is no QEMU state in it.", 0);
            }
        }

        /// <summary>
        /// Opens the QEMU stream in a Xen EMULATOR_CONTEXT record: from its file when that is a regular
        /// file (the description at its end is then found first), else from the reader it came from,
        /// while it is the current record.
        /// </summary>
        /// <exception cref="InvalidOperationException">The record came from a pipe and its reader has moved on.</exception>
        public static QemuImage OpenXenRecord(EmulatorContextRecord record, QemuStreamReaderOptions? options = null)
        {
            if (record is null)
            {
                throw new ArgumentNullException(nameof(record));
            }

            return OpenXenPayload(record, options);
        }

        /// <summary>Opens the QEMU stream that is the payload of a record (EMULATOR_CONTEXT, a XenServer Qemu_xen record).</summary>
        public static QemuImage OpenXenPayload(XenStreamRecord record, QemuStreamReaderOptions? options = null)
        {
            options ??= new QemuStreamReaderOptions();
            options.SourcePath ??= record.FilePath;
            options.BaseOffset = record.PayloadOffset;
            FileStream? file = XenFile.OpenForRereading(record.FilePath, record.PayloadOffset + record.PayloadLength);
            if (file is not null)
            {
                try
                {
                    var window = new WindowStream(file, record.PayloadOffset, record.PayloadLength);
                    options.DescriptionJson = QemuDescriptionLocator.Locate(window);
                    window.Position = 0;
                    return new QemuImage(new QemuStreamReader(window, leaveOpen: false, options), QemuContainer.XenEmulatorContext, record.PayloadOffset, null, record.Index);
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }

            return new QemuImage(new QemuStreamReader(record.OpenPayload(), leaveOpen: false, options), QemuContainer.XenEmulatorContext, record.PayloadOffset, null, record.Index);
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
            Stream buffered = stream.CanSeek || stream is PeekStream ? stream : new PeekStream(stream);
            long start = buffered.CanSeek ? buffered.Position : 0;
            ReadOnlySpan<byte> h = PeekStream.Probe(buffered, LibvirtFormat.HeaderSize);

            if (h.Length > 0 && h.Length < 4 && QemuFormat.Probe(h))
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of the QEMU stream at offset {0}: the input ends inside the \"QEVM\" magic.", h.Length), h.Length);
            }

            if (FormatDetector.HasAsciiPrefix(h, "QEVM"))
            {
                return FromStream(buffered, leaveOpen, options, QemuContainer.Stream, start, start, null);
            }

            if (DeviceModelFormat.Is0002(h))
            {
                if (h.Length < DeviceModelFormat.HeaderSize)
                {
                    throw new XenTruncatedException("Unexpected end of stream at offset 0x15: the device-model record's length is cut off.", DeviceModelFormat.SignatureLength);
                }

                uint length = DeviceModelFormat.LengthOf(h);
                long offset = start + DeviceModelFormat.HeaderSize;
                if (buffered.CanSeek)
                {
                    var window = new WindowStream(buffered, offset, length, leaveOpen);
                    return FromStream(window, false, options, QemuContainer.XenDeviceModelRecord, 0, offset, null);
                }

                Skip(buffered, DeviceModelFormat.HeaderSize);
                options.BaseOffset = DeviceModelFormat.HeaderSize;
                return new QemuImage(new QemuStreamReader(buffered, leaveOpen, options), QemuContainer.XenDeviceModelRecord, DeviceModelFormat.HeaderSize, null, null);
            }

            if (LibvirtFormat.Probe(h) && h.Length > 0)
            {
                return OpenLibvirt(buffered, leaveOpen, options, start, h);
            }

            ReadOnlySpan<byte> probe = h.Slice(0, Math.Min(h.Length, FormatDetector.ProbeLength));
            throw FormatDetector.Refuse(FormatDetector.Detect(probe), probe, 0, "a QEMU migration stream", "Expected \"QEVM\", a libvirt save image (\"LibvirtQemudSave\"), a Xen save image with an EMULATOR_CONTEXT record, or Xen's \"DeviceModelRecord0002\".");
        }

        private static QemuImage OpenLibvirt(Stream stream, bool leaveOpen, QemuStreamReaderOptions options, long start, ReadOnlySpan<byte> h)
        {
            LibvirtSaveHeader header = LibvirtFormat.Read(stream, h, options.SourcePath);
            long streamOffset = start + header.StreamOffset;
            switch (header.Compression)
            {
                case LibvirtCompression.Raw:
                    return FromStream(stream, leaveOpen, options, QemuContainer.Libvirt, streamOffset, streamOffset, header);
                case LibvirtCompression.Gzip:
                    // Offsets are then in the decompressed stream: the file's gzip bytes have no record boundaries.
                    options.BaseOffset = 0;
                    return new QemuImage(new QemuStreamReader(new GzipReadStream(stream, leaveOpen), false, options), QemuContainer.Libvirt, 0, header, null);
                case LibvirtCompression.Xz:
                case LibvirtCompression.Bzip2:
                case LibvirtCompression.Zstd:
                    options.BaseOffset = 0;
                    LibraryCompressor kind = header.Compression == LibvirtCompression.Xz ? LibraryCompressor.Xz : header.Compression == LibvirtCompression.Bzip2 ? LibraryCompressor.Bzip2 : LibraryCompressor.Zstd;
                    return new QemuImage(new QemuStreamReader(new LibraryDecompressStream(stream, kind, leaveOpen), false, options), QemuContainer.Libvirt, 0, header, null);
                case LibvirtCompression.Lzop:
                    options.BaseOffset = 0;
                    return new QemuImage(new QemuStreamReader(new LzopReadStream(stream, leaveOpen), false, options), QemuContainer.Libvirt, 0, header, null);
                default:
                    string tool = LibvirtFormat.CompressorCommand(header.Compression);
                    throw new XenFormatException(
                        XenErrorIds.UnsupportedCompression,
                        string.Format(CultureInfo.InvariantCulture, "The libvirt save image's QEMU stream is {0}-compressed, which this module does not decompress (it does gzip, bzip2, xz, lzop and zstd). Decompress it first: tail -c +{1} FILE | {2} > guest.qevm", header.Compression.ToString().ToLowerInvariant(), streamOffset + 1, tool.Length == 0 ? "(format " + ((int)header.Compression).ToString(CultureInfo.InvariantCulture) + ")" : tool),
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
                options.DescriptionJson ??= QemuDescriptionLocator.Locate(window);
                window.Position = 0;
                return new QemuImage(new QemuStreamReader(window, false, options), container, reported, libvirt, null);
            }

            return new QemuImage(new QemuStreamReader(stream, leaveOpen, options), container, reported, libvirt, null);
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
