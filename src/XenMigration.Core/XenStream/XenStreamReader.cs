using System;
using System.Globalization;
using System.IO;
using XenMigration.DeviceModel;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Records;

namespace XenMigration.XenStream
{
    /// <summary>
    /// Pull reader of Xen save images: a bare libxl v2 stream or libxc v2/v3 stream, or one inside a
    /// container (an xl save file), detected from the first bytes. <see cref="ReadNext"/> returns the
    /// headers and records of every layer in file order, the embedded libxc stream inline, and null
    /// at the clean end. Page contents and other payloads are skipped (by seeking when the stream can
    /// seek) unless a record's <see cref="XenStreamRecord.OpenPayload"/> is used.
    /// </summary>
    /// <remarks>
    /// Errors are <see cref="XenFormatException"/>s carrying the byte offset, record index and a
    /// stable error id; a truncated input gives <see cref="XenTruncatedException"/>. After an error
    /// the reader rethrows it on every further call. Not thread-safe.
    /// </remarks>
    public sealed class XenStreamReader : IRecordReader<XenStreamRecord>, IRecordDecoding, IPayloadSource
    {
        private readonly StreamSource _source;
        private readonly FramedRecordReader _frames;
        private readonly string? _path;
        private Step _state;
        private IContainerDecoder? _container;
        private bool _libxcInsideLibxl;
        private bool _libxcSuspended;
        private bool _frameIsLibxl;
        private long _index;
        private XenStreamRecord? _current;
        private Exception? _fault;
        private XenFormatException? _deferred;
        private bool _disposed;

        int? IRecordDecoding.GuestWidth { get; set; }

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

        private enum Step
        {
            Start,
            Container,
            EmbeddedStream,
            LibxlHeader,
            LibxlRecords,
            ImageHeader,
            DomainHeader,
            LibxcRecords,
            LibxcTrailer,
            Done,
        }

        /// <summary>The format detected from the first bytes (Unknown before the first read).</summary>
        public DetectedFormat Format { get; private set; }

        /// <summary>The libxl header, once read.</summary>
        public LibxlHeaderRecord? LibxlHeader { get; private set; }

        /// <summary>The most recent libxc image header.</summary>
        public ImageHeaderRecord? ImageHeader { get; private set; }

        /// <summary>The most recent libxc domain header.</summary>
        public DomainHeaderRecord? DomainHeader { get; private set; }

        /// <summary>True once a libxc CHECKPOINT record has been read.</summary>
        public bool IsCheckpointed { get; private set; }

        /// <summary>True once the final END has been read.</summary>
        public bool IsAtEnd => _state == Step.Done;

        /// <summary>Bytes consumed from the input so far.</summary>
        public long Position => _source.Position;

        /// <summary>Length of the input when it is seekable; null otherwise.</summary>
        public long? Length => _source.Length < 0 ? null : _source.Length;

        /// <summary>Bytes actually read from the input (seeking past payloads keeps this well below <see cref="Position"/>).</summary>
        public long BytesFetched => _source.BytesFetched;

        /// <summary>Bytes after the final END, when the input is seekable and fully read; null otherwise.</summary>
        public long? TrailingBytes => _state == Step.Done && _source.Length >= 0 ? _source.Remaining : null;

        /// <summary>
        /// After the final END: whether any byte follows it. On a pipe this reads (at most) one
        /// buffer of what follows; on a file it only compares positions.
        /// </summary>
        public bool HasTrailingData()
        {
            if (_state != Step.Done)
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
            catch (OverflowException ex)
            {
                // Lengths are checked where they are read; this is the net under those checks, so a
                // value no check foresaw is still a per-file format error with its offset.
                _fault = new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "A value in record #{0} near offset {1} is out of range ({2}).", _index, _source.Position, ex.Message), _source.Position, _index, innerException: ex);
                throw _fault;
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

        Stream IPayloadSource.OpenPayload(XenStreamRecord record, int generation)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(XenStreamReader));
            }

            if (!ReferenceEquals(record, _current) || generation != _frames.Generation || !_frames.InRecord)
            {
                throw new InvalidOperationException("The payload of a record can only be read before the reader moves to the next record.");
            }

            if (_source.Position != record.PayloadOffset)
            {
                throw new InvalidOperationException("The payload of this record has already been read.");
            }

            return new FrameBodyStream(_frames, generation, record.PayloadLength);
        }

        private XenStreamRecord? ReadNextCore()
        {
            _frames.RecordIndex = _index;
            while (true)
            {
                switch (_state)
                {
                    case Step.Start:
                        if (ReadStart() is XenStreamRecord first)
                        {
                            return first;
                        }

                        continue;   // a container with nothing of its own before the stream
                    case Step.Container:
                        if (_container!.ReadNext(this, out bool embedded) is XenStreamRecord own)
                        {
                            return own;
                        }

                        _state = embedded ? Step.EmbeddedStream : Step.Done;
                        continue;
                    case Step.EmbeddedStream:
                        return ReadStreamHeader(FormatDetector.Detect(_source.Peek(FormatDetector.ProbeLength)));
                    case Step.LibxlHeader:
                        return ReadLibxlHeader();
                    case Step.LibxlRecords:
                        return ReadLibxlRecord();
                    case Step.ImageHeader:
                        return ReadImageHeader();
                    case Step.DomainHeader:
                        return ReadDomainHeader();
                    case Step.LibxcRecords:
                        return ReadLibxcRecord();
                    case Step.LibxcTrailer:
                        if (DeviceModelDecoder.ReadTrailer(this) is LegacyDeviceModelRecord trailer)
                        {
                            _state = StreamEnded();
                            return trailer;
                        }

                        _state = StreamEnded();
                        continue;
                    default:
                        return null;
                }
            }
        }

        // The embedded (or bare) Xen stream has ended: back to its container, if there is one.
        private Step StreamEnded() => _container is null ? Step.Done : Step.Container;

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

        private XenStreamRecord? ReadStart()
        {
            ReadOnlySpan<byte> head = _source.Peek(FormatDetector.ProbeLength);
            DetectedFormat format = FormatDetector.Detect(head);
            Format = format;
            if (ContainerRegistry.Create(format) is IContainerDecoder container)
            {
                _container = container;
                _state = Step.Container;
                return null;
            }

            if (format == DetectedFormat.Empty)
            {
                throw new XenTruncatedException("Unexpected end of stream at offset 0: the input is empty.", 0);
            }

            return ReadStreamHeader(format);
        }

        private XenStreamRecord ReadStreamHeader(DetectedFormat format)
        {
            switch (format)
            {
                case DetectedFormat.Libxl:
                    return ReadLibxlHeader();
                case DetectedFormat.Libxc:
                    return ReadImageHeader();
                default:
                    ReadOnlySpan<byte> head = _source.Peek(FormatDetector.ProbeLength);
                    throw FormatDetector.Refuse(format, head, _source.Position, "a Xen save image", "Expected an xl save file, a libxl stream (\"LibxlFmt\") or a libxc stream (all-ones marker, \"XENF\"). A legacy (Xen 4.5 and older) stream without an xl header has no magic: convert it to a v2 stream first.");
            }
        }

        private XenStreamRecord ReadLibxlHeader()
        {
            long offset = _source.Position;
            const string Name = nameof(XenRecordType.LibxlHeader);
            if (!_source.TryRead(LibxlFormat.HeaderSize, out ReadOnlySpan<byte> span))
            {
                throw HeaderTruncated(Name, offset);
            }

            LibxlHeaderRecord record = LibxlRecordDecoder.DecodeHeader(span, Header(offset, XenLayer.Libxl, XenRecordType.LibxlHeader, LibxlFormat.HeaderSize), (id, detail) => HeaderError(id, Name, offset, detail));
            LibxlHeader = record;
            if (record.IsBigEndian)
            {
                _deferred = HeaderError(XenErrorIds.BigEndianStream, Name, offset, "the libxl stream is big-endian; Xen refuses to restore big-endian streams (\"Unable to handle big endian streams\") and this reader does not decode them");
            }

            _state = Step.LibxlRecords;
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
                    _state = StreamEnded();
                    return Signal(frame, XenLayer.Libxl, type);
                case LibxlFormat.LibxcContext:
                    _state = Step.ImageHeader;
                    _libxcInsideLibxl = true;
                    return Signal(frame, XenLayer.Libxl, type);
                case LibxlFormat.CheckpointEnd:
                    if (_libxcSuspended)
                    {
                        _libxcSuspended = false;
                        _state = Step.LibxcRecords;
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

            ImageHeaderRecord record = LibxcRecordDecoder.DecodeImageHeader(span, Header(offset, XenLayer.Libxc, XenRecordType.ImageHeader, LibxcFormat.ImageHeaderSize), (id, detail) => HeaderError(id, Name, offset, detail));
            ImageHeader = record;
            if (record.IsBigEndian)
            {
                _deferred = HeaderError(XenErrorIds.BigEndianStream, Name, offset, "the libxc stream is big-endian; Xen refuses to restore big-endian streams and this reader does not decode them");
            }

            _state = Step.DomainHeader;
            return record;
        }

        private XenStreamRecord ReadDomainHeader()
        {
            long offset = _source.Position;
            if (!_source.TryRead(LibxcFormat.DomainHeaderSize, out ReadOnlySpan<byte> span))
            {
                throw HeaderTruncated(nameof(XenRecordType.DomainHeader), offset);
            }

            DomainHeaderRecord record = LibxcRecordDecoder.DecodeDomainHeader(span, Header(offset, XenLayer.Libxc, XenRecordType.DomainHeader, LibxcFormat.DomainHeaderSize));
            DomainHeader = record;
            _state = Step.LibxcRecords;
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
                    _state = _libxcInsideLibxl ? Step.LibxlRecords : Step.LibxcTrailer;
                    return Signal(frame, XenLayer.Libxc, type);

                case LibxcFormat.Checkpoint:
                    IsCheckpointed = true;
                    if (_libxcInsideLibxl)
                    {
                        _state = Step.LibxlRecords;
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

        FramedRecordReader IRecordDecoding.Frames => _frames;

        StreamSource IRecordDecoding.Source => _source;

        long IRecordDecoding.RecordIndex => _index;

        RecordContext IRecordDecoding.Decoded(RecordFrame frame, XenLayer layer, XenRecordType type) => DecodedContext(frame, layer, type);

        RecordContext IRecordDecoding.Payload(RecordFrame frame, XenLayer layer, XenRecordType type) => PayloadContext(frame, layer, type);

        RecordContext IRecordDecoding.Header(long offset, XenLayer layer, XenRecordType type, long length) => Header(offset, layer, type, length);

        RecordContext IRecordDecoding.Unframed(long offset, XenLayer layer, XenRecordType type, uint? typeCode, long headerLength, long payloadLength)
        {
            _frames.OpenUnframed(typeCode ?? 0xFFFFFFFF, payloadLength);
            return new RecordContext(this, _frames.Generation, _path, offset, _index, layer, type, typeCode, headerLength + payloadLength, _source.Position, payloadLength, null);
        }

        XenFormatException IRecordDecoding.HeaderError(string errorId, string name, long offset, string detail) => HeaderError(errorId, name, offset, detail);

        XenTruncatedException IRecordDecoding.HeaderTruncated(string name, long offset) => HeaderTruncated(name, offset);

        void IRecordDecoding.RequireRemaining(long length, string name, long offset, string what)
        {
            if (_source.RemainingAtLeast(length) >= 0 && length > _source.Remaining)
            {
                throw new XenTruncatedException(
                    string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: the {1} at offset {2} declares {3} but only {4} remain.", _source.Length, name, offset, what, _source.Remaining),
                    _source.Length,
                    _index,
                    name);
            }
        }

        // A record whose body is fully decoded: finish it now (skipping any surplus bytes) so its
        // padding is known when it is returned.
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

        private RecordContext Header(long offset, XenLayer layer, XenRecordType type, long length) =>
            new RecordContext(this, _frames.Generation, _path, offset, _index, layer, type, null, length, offset + length, 0, null);

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
