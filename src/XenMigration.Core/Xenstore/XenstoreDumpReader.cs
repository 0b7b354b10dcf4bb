using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using XenMigration.Framing;

namespace XenMigration.Xenstore
{
    /// <summary>Options of <see cref="XenstoreDumpReader"/>.</summary>
    public sealed class XenstoreDumpReaderOptions
    {
        /// <summary>File name stamped on every record's <see cref="XenstoreRecord.FilePath"/>.</summary>
        public string? SourcePath { get; set; }

        /// <summary>Records longer than this are refused before they are read (default 16 MiB).</summary>
        public long MaxRecordLength { get; set; } = XenstoreFormat.MaxRecordLength;
    }

    /// <summary>
    /// Pull reader of xenstore migration / live-update dumps (docs/formats §5), versions 1 and 2, either
    /// byte order, either length convention (the C daemon counts the padding in a record's length,
    /// the spec does not: both frame the same way). Returns the header, every record, END, then null.
    /// </summary>
    public sealed class XenstoreDumpReader : IRecordReader<XenstoreRecord>
    {
        private readonly StreamSource _source;
        private readonly FramedRecordReader _frames;
        private readonly string? _path;
        private long _index;
        private bool _done;
        private Exception? _fault;
        private uint _version;

        /// <summary>Creates a reader over <paramref name="stream"/>, seekable or not.</summary>
        public XenstoreDumpReader(Stream stream, bool leaveOpen = false, XenstoreDumpReaderOptions? options = null)
        {
            options ??= new XenstoreDumpReaderOptions();
            _source = new StreamSource(stream, leaveOpen);
            _frames = new FramedRecordReader(_source, options.MaxRecordLength, NameOf);
            _path = options.SourcePath;
        }

        /// <summary>The header, once read.</summary>
        public XenstoreHeaderRecord? Header { get; private set; }

        /// <summary>Bytes consumed so far.</summary>
        public long Position => _source.Position;

        /// <summary>Length of a seekable input; null otherwise.</summary>
        public long? Length => _source.Length < 0 ? null : _source.Length;

        /// <summary>Reads the next record; null after END.</summary>
        /// <exception cref="XenFormatException">The dump is malformed, truncated or not a xenstore dump.</exception>
        public XenstoreRecord? ReadNext()
        {
            if (_fault is not null)
            {
                throw _fault;
            }

            if (_done)
            {
                return null;
            }

            try
            {
                XenstoreRecord record = Header is null ? ReadHeader() : ReadRecord();
                record.FilePath = _path;
                record.Index = _index++;
                return record;
            }
            catch (Exception ex) when (ex is XenFormatException || ex is IOException)
            {
                _fault = ex;
                throw;
            }
        }

        /// <inheritdoc/>
        public void Dispose() => _source.Dispose();

        private XenstoreRecord ReadHeader()
        {
            ReadOnlySpan<byte> head = _source.Peek(FormatDetector.ProbeLength);
            DetectedFormat format = FormatDetector.Detect(head);
            if (format == DetectedFormat.Empty)
            {
                throw new XenTruncatedException("Unexpected end of stream at offset 0: the input is empty.", 0);
            }

            if (format != DetectedFormat.XenstoreDump)
            {
                throw FormatDetector.Refuse(format, head, 0, "a xenstore dump");
            }

            if (!_source.TryRead(XenstoreFormat.HeaderSize, out ReadOnlySpan<byte> span))
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0} while reading the xenstore dump header.", _source.Position), _source.Position, 0, "Header");
            }

            uint version = BinaryPrimitives.ReadUInt32BigEndian(span.Slice(8));
            uint flags = BinaryPrimitives.ReadUInt32BigEndian(span.Slice(12));
            if (version < 1 || version > 2)
            {
                throw new XenFormatException(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "The xenstore dump header at offset 0 has version {0}; versions 1 and 2 are supported.", version), 8, 0, "Header");
            }

            if ((flags & ~XenstoreFormat.FlagBigEndian) != 0)
            {
                throw new XenFormatException(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "The xenstore dump header at offset 0 has reserved flag bits set (flags 0x{0:x8}).", flags), 12, 0, "Header");
            }

            var header = new XenstoreHeaderRecord(version, flags) { Offset = 0 };
            Header = header;
            _version = version;
            _frames.BigEndian = header.IsBigEndian;
            return header;
        }

        private XenstoreRecord ReadRecord()
        {
            _frames.RecordIndex = _index;
            if (_source.Peek(1).Length == 0)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: the dump ends without an END record.", _source.Position), _source.Position, _index);
            }

            RecordFrame frame = _frames.ReadHeader("a xenstore record");
            byte[] body = _frames.ReadBytes((int)frame.Length, "the record body");
            _frames.Finish();
            XenstoreRecord record;
            try
            {
                record = Decode(frame.Type, body);
            }
            catch (Exception ex) when (ex is InvalidDataException || ex is XenFormatException)
            {
                // The body decoders say what is wrong; the record's place is said here, once.
                string name = NameOf(frame.Type);
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The {0} is invalid: {1}.", XenFormatException.Where(frame.Offset, _index, name), ex.Message.TrimEnd('.')), frame.Offset, _index, name, ex);
            }

            record.Offset = frame.Offset;
            record.Length = frame.Length;
            record.RawBody = body;
            record.SourceBigEndian = _frames.BigEndian;
            record.SourceVersion = _version;
            if (record.Type == XenstoreRecordType.End)
            {
                _done = true;
            }

            return record;
        }

        private XenstoreRecord Decode(uint type, byte[] body)
        {
            var r = new SpanReader(body, _frames.BigEndian);
            switch (type)
            {
                case 0:
                    return new XenstoreEndRecord();
                case 1:
                    return XenstoreGlobalRecord.Decode(ref r);
                case 2:
                    return XenstoreConnectionRecord.Decode(ref r);
                case 3:
                    return XenstoreWatchRecord.Decode(body, _frames.BigEndian, extended: false);
                case 4:
                    return new XenstoreTransactionRecord(r.U32(), r.U32());
                case 5:
                    return XenstoreNodeRecord.Decode(ref r);
                case 6:
                    return XenstoreGlobalQuotaRecord.Decode(ref r);
                case 7:
                    return XenstoreDomainRecord.Decode(ref r, _version);
                case 8:
                    return XenstoreWatchRecord.Decode(body, _frames.BigEndian, extended: true);
                default:
                    return new XenstoreUnknownRecord(type, body);
            }
        }

        private static string NameOf(uint type) =>
            type <= 8 ? ((XenstoreRecordType)(int)type).ToString() : "type " + type.ToString(CultureInfo.InvariantCulture);
    }
}
