using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Xl;

namespace XenMigration.XenStream
{
    /// <summary>
    /// Pull reader of Xen save images: an xl save file, a bare libxl v2 stream or a bare libxc v2/v3
    /// stream, detected from the first bytes. <see cref="ReadNext"/> returns the headers and records of
    /// every layer in file order, the embedded libxc stream inline, and null at the clean end. Page
    /// contents and other payloads are skipped (by seeking when the stream can seek) unless a
    /// record's <see cref="XenStreamRecord.OpenPayload"/> is used before the next call.
    /// </summary>
    /// <remarks>
    /// Errors are <see cref="XenFormatException"/>s carrying the byte offset, record index and a
    /// stable error id; a truncated input gives <see cref="XenTruncatedException"/>. After an error
    /// the reader rethrows it on every further call. Not thread-safe.
    /// </remarks>
    public sealed class XenStreamReader : IRecordReader<XenStreamRecord>, IRecordDecoding
    {
        private const string QemuLegacySignature = Legacy.LegacyFormat.QemuSignature;

        private readonly StreamSource _source;
        private readonly FramedRecordReader _frames;
        private readonly string? _path;
        private State _state;
        private bool _libxcInsideLibxl;
        private bool _libxcSuspended;
        private bool _frameIsLibxl;
        private long _index;
        private XenStreamRecord? _current;
        private Exception? _fault;
        private XenFormatException? _deferred;
        private bool _disposed;

        internal bool IsDisposed => _disposed;

        int? IRecordDecoding.GuestWidth { get; set; }

        /// <summary>
        /// The most entries (pfns, params, CPUID leaves, MSRs, key/value pairs) a record keeps in
        /// memory; the rest are counted and checked as they stream past, so memory stays bounded
        /// whatever a record declares (see <see cref="XenStreamRecord.EntriesTruncated"/>).
        /// </summary>
        public const int MaxRetainedEntries = 65536;

        /// <summary>Creates a reader over <paramref name="stream"/>, which may be seekable or not.</summary>
        /// <param name="stream">The input, positioned at the start of the image.</param>
        /// <param name="leaveOpen">Leave <paramref name="stream"/> open when the reader is disposed.</param>
        /// <param name="options">Options, or null for the defaults.</param>
        public XenStreamReader(Stream stream, bool leaveOpen = false, XenStreamReaderOptions? options = null)
        {
            options ??= new XenStreamReaderOptions();
            if (options.MaxRecordLength < 0 || options.MaxRecordLength > uint.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "MaxRecordLength must be between 0 and 2^32-1.");
            }

            _source = new StreamSource(stream, leaveOpen, options.BufferSize);
            _frames = new FramedRecordReader(_source, options.MaxRecordLength, NameOf);
            _path = options.SourcePath;
        }

        private enum State
        {
            Start,
            AfterXlHeader,
            LibxlHeader,
            LibxlRecords,
            ImageHeader,
            DomainHeader,
            LibxcRecords,
            LibxcTrailer,
            Done,
        }

        /// <summary>The container format detected from the first bytes (Unknown before the first read).</summary>
        public DetectedFormat Format { get; private set; }

        /// <summary>The xl header, once read.</summary>
        public XlHeaderRecord? XlHeader { get; private set; }

        /// <summary>The libxl header, once read.</summary>
        public LibxlHeaderRecord? LibxlHeader { get; private set; }

        /// <summary>The most recent libxc image header.</summary>
        public ImageHeaderRecord? ImageHeader { get; private set; }

        /// <summary>The most recent libxc domain header.</summary>
        public DomainHeaderRecord? DomainHeader { get; private set; }

        /// <summary>True once a libxc CHECKPOINT record has been read.</summary>
        public bool IsCheckpointed { get; private set; }

        /// <summary>True once the final END has been read.</summary>
        public bool IsAtEnd => _state == State.Done;

        /// <summary>Bytes consumed from the input so far.</summary>
        public long Position => _source.Position;

        /// <summary>Length of the input when it is seekable; null otherwise.</summary>
        public long? Length => _source.Length < 0 ? null : _source.Length;

        /// <summary>Bytes actually read from the input (seeking past payloads keeps this well below <see cref="Position"/>).</summary>
        public long BytesFetched => _source.BytesFetched;

        /// <summary>Bytes after the final END, when the input is seekable and fully read; null otherwise.</summary>
        public long? TrailingBytes => _state == State.Done && _source.Length >= 0 ? _source.Remaining : null;

        /// <summary>
        /// After the final END: whether any byte follows it. On a pipe this reads (at most) one
        /// buffer of what follows; on a file it only compares positions.
        /// </summary>
        public bool HasTrailingData()
        {
            if (_state != State.Done)
            {
                throw new InvalidOperationException("The final END has not been read yet.");
            }

            FinishCurrent();
            return _source.Length >= 0 ? _source.Remaining > 0 : _source.Peek(1).Length > 0;
        }

        /// <summary>
        /// Reads the next header or record. Returns null after the final END (later calls keep
        /// returning null without reading).
        /// </summary>
        /// <exception cref="XenFormatException">The input is malformed, truncated or of another format.</exception>
        /// <exception cref="IOException">Reading the input failed.</exception>
        public XenStreamRecord? ReadNext()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(XenStreamReader));
            }

            if (_fault is not null)
            {
                throw _fault;
            }

            try
            {
                FinishCurrent();
                if (_deferred is not null)
                {
                    throw _deferred;
                }

                XenStreamRecord? record = ReadNextCore();
                _current = record;
                if (record is not null)
                {
                    _index++;
                }

                return record;
            }
            catch (Exception ex) when (ex is XenFormatException || ex is IOException)
            {
                _fault = ex;
                throw;
            }
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _source.Dispose();
        }

        internal Stream OpenPayload(XenStreamRecord record, int generation)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(XenStreamReader));
            }

            if (record.PayloadLength == 0)
            {
                return Stream.Null;
            }

            if (!ReferenceEquals(record, _current) || generation != _frames.Generation || !_frames.InRecord)
            {
                throw new InvalidOperationException("The payload of a record can only be read before the reader moves to the next record.");
            }

            if (_source.Position != record.PayloadOffset)
            {
                throw new InvalidOperationException("The payload of this record has already been read.");
            }

            return new PayloadStream(this, _frames, generation, record.PayloadLength);
        }

        private XenStreamRecord? ReadNextCore()
        {
            _frames.RecordIndex = _index;
            switch (_state)
            {
                case State.Start:
                    return ReadStart();
                case State.AfterXlHeader:
                    return ReadAfterXlHeader();
                case State.LibxlHeader:
                    return ReadLibxlHeader();
                case State.LibxlRecords:
                    return ReadLibxlRecord();
                case State.ImageHeader:
                    return ReadImageHeader();
                case State.DomainHeader:
                    return ReadDomainHeader();
                case State.LibxcRecords:
                    return ReadLibxcRecord();
                case State.LibxcTrailer:
                    return ReadLibxcTrailer();
                default:
                    return null;
            }
        }

        // Skips what is left of the current record's body (unless a payload stream consumed it) and
        // checks its padding, which is only known now for records that had a payload.
        private void FinishCurrent()
        {
            if (_frames.InRecord)
            {
                bool zero = _frames.Finish();
                if (_current is not null && _current.PaddingIsZero is null && _current.TypeCode is not null)
                {
                    _current.PaddingIsZero = zero;
                }
            }
        }

        private XenStreamRecord ReadStart()
        {
            ReadOnlySpan<byte> head = _source.Peek(FormatDetector.ProbeLength);
            DetectedFormat format = FormatDetector.Detect(head);
            Format = format;
            switch (format)
            {
                case DetectedFormat.Empty:
                    throw new XenTruncatedException("Unexpected end of stream at offset 0: the input is empty.", 0);
                case DetectedFormat.XlSaveFile:
                    return ReadXlHeader();
                case DetectedFormat.Libxl:
                    return ReadLibxlHeader();
                case DetectedFormat.Libxc:
                    return ReadImageHeader();
                default:
                    throw WrongFormat(format, head, 0);
            }
        }

        private static XenFormatException WrongFormat(DetectedFormat format, ReadOnlySpan<byte> head, long offset) =>
            FormatDetector.Refuse(format, head, offset, "a Xen save image", "Expected an xl save file, a libxl stream (\"LibxlFmt\") or a libxc stream (all-ones marker, \"XENF\"). A legacy (Xen 4.5 and older) stream without an xl header has no magic: convert it to a v2 stream first.");

        private XenStreamRecord ReadXlHeader()
        {
            long offset = _source.Position;
            const string Name = nameof(XenRecordType.XlHeader);
            if (!_source.TryRead(XlFormat.HeaderSize, out ReadOnlySpan<byte> fixedPart))
            {
                throw HeaderTruncated(Name, offset);
            }

            Exception Error(string id, string detail) => HeaderError(id, Name, offset, detail);
            XlHeaderDecoder.FixedPart h = XlHeaderDecoder.DecodeFixed(fixedPart, Error);
            XlByteOrder order = h.Order;
            uint mandatory = h.MandatoryFlags;
            uint optional = h.OptionalFlags;
            uint optionalLength = h.OptionalLength;
            if (_source.RemainingAtLeast(optionalLength) >= 0 && optionalLength > _source.Remaining)
            {
                throw new XenTruncatedException(
                    string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: the xl header at offset {1} declares {2} bytes of optional data but only {3} remain.", _source.Length, offset, optionalLength, _source.Remaining),
                    _source.Length,
                    _index,
                    Name);
            }

            byte[] optionalData = optionalLength == 0
                ? Array.Empty<byte>()
                : _source.ReadArray((int)optionalLength) ?? throw HeaderTruncated(Name, offset);
            (uint? configLength, byte[]? config) = XlHeaderDecoder.DecodeOptional(optionalData, h.BigEndian, Error);

            var record = new XlHeaderRecord(Context(offset, XenLayer.Xl, XenRecordType.XlHeader, null, XlFormat.HeaderSize + optionalLength), order, mandatory, optional, optionalLength, configLength, config);
            XlHeader = record;
            _state = State.AfterXlHeader;
            return record;
        }

        // After the xl header: STREAMv2 promises a libxl stream. Whatever really follows is read if it
        // can be (a libxc stream directly after the header is what Xen's verifier accepts); the
        // verifier reports the mismatch. A legacy stream is refused here.
        private XenStreamRecord ReadAfterXlHeader()
        {
            long offset = _source.Position;
            ReadOnlySpan<byte> head = _source.Peek(FormatDetector.ProbeLength);
            DetectedFormat next = FormatDetector.Detect(head);
            switch (next)
            {
                case DetectedFormat.Libxl:
                    return ReadLibxlHeader();
                case DetectedFormat.Libxc:
                    return ReadImageHeader();
                case DetectedFormat.Empty:
                    throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: nothing follows the xl header.", offset), offset, _index);
            }

            if (XlHeader is { IsStreamV2: false })
            {
                throw new XenUnsupportedFormatException(
                    DetectedFormat.LegacyLibxc,
                    string.Format(CultureInfo.InvariantCulture, "The xl header has no STREAMv2 flag: the image at offset {0} is a legacy (Xen 4.5 and older) stream, which must be converted to a v2 stream before it can be read.", offset),
                    offset);
            }

            throw HeaderError(XenErrorIds.InvalidHeader, nameof(XenRecordType.LibxlHeader), offset, "the xl header announces a libxl v2 stream (STREAMv2) but the bytes that follow are not one (" + FormatDetector.Hex(head) + ")");
        }

        private XenStreamRecord ReadLibxlHeader()
        {
            long offset = _source.Position;
            const string Name = nameof(XenRecordType.LibxlHeader);
            if (!_source.TryRead(LibxlFormat.HeaderSize, out ReadOnlySpan<byte> span))
            {
                throw HeaderTruncated(Name, offset);
            }

            LibxlHeaderRecord record = LibxlRecordDecoder.DecodeHeader(span, Context(offset, XenLayer.Libxl, XenRecordType.LibxlHeader, null, LibxlFormat.HeaderSize), (id, detail) => HeaderError(id, Name, offset, detail));
            LibxlHeader = record;
            if (record.IsBigEndian)
            {
                _deferred = HeaderError(XenErrorIds.BigEndianStream, Name, offset, "the libxl stream is big-endian; Xen refuses to restore big-endian streams (\"Unable to handle big endian streams\") and this reader does not decode them");
            }

            _state = State.LibxlRecords;
            return record;
        }

        private XenStreamRecord ReadLibxlRecord()
        {
            _frameIsLibxl = true;
            RecordFrame frame = _frames.ReadHeader("a libxl record");
            uint code = frame.Type;
            XenRecordType type = LibxlFormat.TypeOf(code);
            switch (code)
            {
                case LibxlFormat.End:
                    _state = State.Done;
                    return Signal(frame, XenLayer.Libxl, type);
                case LibxlFormat.LibxcContext:
                    _state = State.ImageHeader;
                    _libxcInsideLibxl = true;
                    return Signal(frame, XenLayer.Libxl, type);
                case LibxlFormat.CheckpointEnd:
                    if (_libxcSuspended)
                    {
                        _libxcSuspended = false;
                        _state = State.LibxcRecords;
                    }

                    return Signal(frame, XenLayer.Libxl, type);
                default:
                    return LibxlRecordDecoder.Decode(frame, type, this) ?? Unknown(frame, XenLayer.Libxl);
            }
        }

        private XenStreamRecord ReadImageHeader()
        {
            long offset = _source.Position;
            const string Name = nameof(XenRecordType.ImageHeader);
            if (!_source.TryRead(LibxcFormat.ImageHeaderSize, out ReadOnlySpan<byte> span))
            {
                throw HeaderTruncated(Name, offset);
            }

            ImageHeaderRecord record = LibxcRecordDecoder.DecodeImageHeader(span, Context(offset, XenLayer.Libxc, XenRecordType.ImageHeader, null, LibxcFormat.ImageHeaderSize), (id, detail) => HeaderError(id, Name, offset, detail));
            ImageHeader = record;
            if (record.IsBigEndian)
            {
                _deferred = HeaderError(XenErrorIds.BigEndianStream, Name, offset, "the libxc stream is big-endian; Xen refuses to restore big-endian streams and this reader does not decode them");
            }

            _state = State.DomainHeader;
            return record;
        }

        private XenStreamRecord ReadDomainHeader()
        {
            long offset = _source.Position;
            if (!_source.TryRead(LibxcFormat.DomainHeaderSize, out ReadOnlySpan<byte> span))
            {
                throw HeaderTruncated(nameof(XenRecordType.DomainHeader), offset);
            }

            DomainHeaderRecord record = LibxcRecordDecoder.DecodeDomainHeader(span, Context(offset, XenLayer.Libxc, XenRecordType.DomainHeader, null, LibxcFormat.DomainHeaderSize));
            DomainHeader = record;
            _state = State.LibxcRecords;
            return record;
        }

        private XenStreamRecord ReadLibxcRecord()
        {
            _frameIsLibxl = false;
            RecordFrame frame = _frames.ReadHeader("a libxc record");
            uint code = frame.Type;
            XenRecordType type = LibxcFormat.TypeOf(code);
            switch (code)
            {
                case LibxcFormat.End:
                    _state = _libxcInsideLibxl ? State.LibxlRecords : State.LibxcTrailer;
                    return Signal(frame, XenLayer.Libxc, type);

                case LibxcFormat.Checkpoint:
                    IsCheckpointed = true;
                    if (_libxcInsideLibxl)
                    {
                        _state = State.LibxlRecords;
                        _libxcSuspended = true;
                    }

                    return Signal(frame, XenLayer.Libxc, type);

                case LibxcFormat.Verify:
                case LibxcFormat.StaticDataEnd:
                    return Signal(frame, XenLayer.Libxc, type);

                default:
                    return LibxcRecordDecoder.Decode(frame, type, this) ?? Unknown(frame, XenLayer.Libxc);
            }
        }

        // After a bare libxc stream's END, Xen's converter (libxc format, HVM, without --skip-qemu)
        // appends the legacy device-model record raw. Anything else there is trailing data.
        private XenStreamRecord? ReadLibxcTrailer()
        {
            _state = State.Done;
            ReadOnlySpan<byte> head = _source.Peek(QemuLegacySignature.Length + 4);
            if (head.Length < QemuLegacySignature.Length + 4 || Encoding.ASCII.GetString(head.Slice(0, QemuLegacySignature.Length).ToArray()) != QemuLegacySignature)
            {
                return null;
            }

            long offset = _source.Position;
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(QemuLegacySignature.Length));
            string name = nameof(XenRecordType.LegacyDeviceModel);
            if (length > _frames.MaxLength)
            {
                throw HeaderError(XenErrorIds.RecordTooLarge, name, offset, string.Format(CultureInfo.InvariantCulture, "it declares {0} bytes of QEMU state, more than the {1}-byte limit", length, _frames.MaxLength));
            }

            _source.Skip(QemuLegacySignature.Length + 4);
            if (_source.RemainingAtLeast(length) >= 0 && length > _source.Remaining)
            {
                throw new XenTruncatedException(
                    string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: the legacy device-model record at offset {1} declares {2} bytes of QEMU state but only {3} remain.", _source.Length, offset, length, _source.Remaining),
                    _source.Length,
                    _index,
                    name);
            }

            _frames.OpenUnframed(0xFFFFFFFF, length);
            var context = new RecordContext(this, _frames.Generation, _path, offset, _index, XenLayer.Libxc, XenRecordType.LegacyDeviceModel, null, QemuLegacySignature.Length + 4L + length, _source.Position, length, null);
            return new LegacyDeviceModelRecord(context, QemuLegacySignature);
        }

        private XenStreamRecord Unknown(RecordFrame frame, XenLayer layer)
        {
            if ((frame.Type & LibxcFormat.OptionalBit) == 0)
            {
                throw _frames.RecordError(XenErrorIds.UnknownRecordType, string.Format(CultureInfo.InvariantCulture, "type 0x{0:X8} is not a defined {1} record type and its optional bit (31) is clear", frame.Type, layer));
            }

            return new UnknownRecord(PayloadContext(frame, layer, XenRecordType.Unknown));
        }

        private XenStreamRecord Signal(RecordFrame frame, XenLayer layer, XenRecordType type) =>
            new SignalRecord(DecodedContext(frame, layer, type));

        // A record whose body is fully decoded: finish it now (skipping any surplus bytes) so its
        // padding is known when it is returned.
        FramedRecordReader IRecordDecoding.Frames => _frames;

        StreamSource IRecordDecoding.Source => _source;

        RecordContext IRecordDecoding.Decoded(RecordFrame frame, XenLayer layer, XenRecordType type) => DecodedContext(frame, layer, type);

        RecordContext IRecordDecoding.Payload(RecordFrame frame, XenLayer layer, XenRecordType type) => PayloadContext(frame, layer, type);

        private RecordContext DecodedContext(RecordFrame frame, XenLayer layer, XenRecordType type)
        {
            bool zero = _frames.Finish();
            return new RecordContext(this, _frames.Generation, _path, frame.Offset, _index, layer, type, frame.Type, frame.Length, frame.BodyEnd, 0, zero);
        }

        // A record with an opaque payload from the current position to the end of the body: left
        // unread until the next ReadNext, so OpenPayload can stream it.
        private RecordContext PayloadContext(RecordFrame frame, XenLayer layer, XenRecordType type)
        {
            long payloadLength = _frames.BodyRemaining;
            bool? zero = null;
            if (payloadLength == 0)
            {
                zero = _frames.Finish();
            }

            return new RecordContext(this, _frames.Generation, _path, frame.Offset, _index, layer, type, frame.Type, frame.Length, _source.Position, payloadLength, zero);
        }

        private RecordContext Context(long offset, XenLayer layer, XenRecordType type, uint? code, long length) =>
            new RecordContext(this, _frames.Generation, _path, offset, _index, layer, type, code, length, offset + length, 0, null);

        private string NameOf(uint code)
        {
            bool libxl = _frameIsLibxl;
            XenRecordType type = libxl ? LibxlFormat.TypeOf(code) : LibxcFormat.TypeOf(code);
            if (type != XenRecordType.Unknown)
            {
                return type.ToString();
            }

            return string.Format(CultureInfo.InvariantCulture, "{0} type 0x{1:X8}", libxl ? "libxl" : "libxc", code);
        }

        private XenTruncatedException HeaderTruncated(string name, long offset) =>
            new XenTruncatedException(
                string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0} while reading the {1} that starts at offset {2}.", _source.Position, name, offset),
                _source.Position,
                _index,
                name);

        private XenFormatException HeaderError(string errorId, string name, long offset, string detail) =>
            new XenFormatException(
                errorId,
                string.Format(CultureInfo.InvariantCulture, "The {0} is invalid: {1}.", XenFormatException.Where(offset, _index, name), detail),
                offset,
                _index,
                name);
    }
}
