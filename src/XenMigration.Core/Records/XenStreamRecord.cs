using System;
using System.Globalization;
using System.IO;

namespace XenMigration.Records
{
    /// <summary>
    /// What hands out the payload of the record it has just produced (a stream reader), so a record
    /// can stream its payload while it is current.
    /// </summary>
    internal interface IPayloadSource
    {
        /// <summary>The payload stream of <paramref name="record"/>, which must be the current record.</summary>
        /// <exception cref="InvalidOperationException">The source has moved past the record, or its payload was read.</exception>
        Stream OpenPayload(XenStreamRecord record, int generation);
    }

    /// <summary>
    /// One header or record of a Xen save image, as produced by a stream reader. Derived classes
    /// add the decoded fields of each type. Page contents and other opaque payloads are not read
    /// unless <see cref="OpenPayload"/> is called.
    /// </summary>
    public abstract class XenStreamRecord
    {
        private readonly IPayloadSource? _reader;
        private readonly int _generation;

        private protected XenStreamRecord(in RecordContext context)
        {
            FilePath = context.Path;
            Offset = context.Offset;
            Index = context.Index;
            Layer = context.Layer;
            Type = context.Type;
            TypeCode = context.TypeCode;
            Length = context.Length;
            PayloadOffset = context.PayloadOffset;
            PayloadLength = context.PayloadLength;
            PaddingIsZero = context.PaddingIsZero;
            _reader = context.Reader;
            _generation = context.Generation;
        }

        /// <summary>
        /// The file the record was read from (null when read from a stream without a name). Named
        /// FilePath on every record type of the module, because a xenstore node's Path is its key.
        /// </summary>
        public string? FilePath { get; }

        /// <summary>Byte offset of the record (its type field, or the first byte of a header) in the input.</summary>
        public long Offset { get; }

        /// <summary>Zero-based position of the record in the input, headers included.</summary>
        public long Index { get; }

        /// <summary>The layer the record belongs to.</summary>
        public XenLayer Layer { get; }

        /// <summary>The record type.</summary>
        public XenRecordType Type { get; }

        /// <summary>The type code on the wire; null for headers, which have none.</summary>
        public uint? TypeCode { get; }

        /// <summary>Body length in bytes, padding excluded (for headers: the header's size).</summary>
        public long Length { get; }

        /// <summary>True when the type code has the optional bit (31) set.</summary>
        public bool IsOptional => TypeCode is uint code && (code & 0x80000000u) != 0;

        /// <summary>Offset of the opaque payload (page contents, emulator state, ...) in the input.</summary>
        public long PayloadOffset { get; }

        /// <summary>Length of the opaque payload; 0 when the whole body is decoded into properties.</summary>
        public long PayloadLength { get; }

        // Whether the 0-7 padding bytes after the body are zero, for the verifier. Not public: for a
        // record with a skipped payload it is only known once the reader has moved past it, and a
        // property must not change after the record has been written to the pipeline.
        internal bool? PaddingIsZero { get; set; }

        /// <summary>
        /// True when the record has more entries (pfns, params, leaves, pairs, ...) than the
        /// <see cref="Framing.Limits.MaxRetainedEntries"/> (65,536) kept in memory: the entry list holds the
        /// first ones, while counts and Test-XenStream's checks cover all of them.
        /// </summary>
        public virtual bool EntriesTruncated => false;

        /// <summary>A one-line description of the decoded fields.</summary>
        public virtual string Summary => string.Empty;

        /// <summary>
        /// A read-only stream over the record's payload (<see cref="PayloadOffset"/>,
        /// <see cref="PayloadLength"/> bytes). While this is the reader's current record the payload
        /// streams from the reader (pipes too); like TarReader's DataStream, that stream expires when
        /// the reader moves on. After that, or once the reader is closed (the pipeline has ended),
        /// the payload is read again from <see cref="FilePath"/> when that is a regular file.
        /// </summary>
        /// <exception cref="InvalidOperationException">The reader has moved past this record and there is no file to read it from again.</exception>
        public Stream OpenPayload() => RecordPayload.Open(this, _reader, _generation);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} {1} @0x{2:X} len {3}", Layer, Type, Offset, Length);
    }

    /// <summary>What every record is constructed from; filled by the reader.</summary>
    internal readonly struct RecordContext
    {
        public RecordContext(IPayloadSource? reader, int generation, string? path, long offset, long index, XenLayer layer, XenRecordType type, uint? typeCode, long length, long payloadOffset, long payloadLength, bool? paddingIsZero)
        {
            Reader = reader;
            Generation = generation;
            Path = path;
            Offset = offset;
            Index = index;
            Layer = layer;
            Type = type;
            TypeCode = typeCode;
            Length = length;
            PayloadOffset = payloadOffset;
            PayloadLength = payloadLength;
            PaddingIsZero = paddingIsZero;
        }

        public IPayloadSource? Reader { get; }
        public int Generation { get; }
        public string? Path { get; }
        public long Offset { get; }
        public long Index { get; }
        public XenLayer Layer { get; }
        public XenRecordType Type { get; }
        public uint? TypeCode { get; }
        public long Length { get; }
        public long PayloadOffset { get; }
        public long PayloadLength { get; }
        public bool? PaddingIsZero { get; }
    }
}
