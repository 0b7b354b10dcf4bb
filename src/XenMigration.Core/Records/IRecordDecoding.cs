using XenMigration.Framing;

namespace XenMigration.Records
{
    /// <summary>
    /// What a format's record decoder needs from the stream reader: the input, the open record's
    /// body, the context every record is built from (offset, index, payload position, padding), and
    /// errors in the reader's one message shape (offset, record index and name).
    /// </summary>
    internal interface IRecordDecoding
    {
        FramedRecordReader Frames { get; }

        StreamSource Source { get; }

        /// <summary>Index of the record being read (for messages).</summary>
        long RecordIndex { get; }

        /// <summary>The PV guest width in bytes (4 or 8) from the last X86_PV_INFO, for the vCPU records after it.</summary>
        int? GuestWidth { get; set; }

        /// <summary>Context of a record whose body is fully decoded (the rest of the body is skipped now).</summary>
        RecordContext Decoded(RecordFrame frame, XenLayer layer, XenRecordType type);

        /// <summary>Context of a record whose remaining body is an opaque payload, left unread.</summary>
        RecordContext Payload(RecordFrame frame, XenLayer layer, XenRecordType type);

        /// <summary>Context of an unframed header of <paramref name="length"/> bytes at <paramref name="offset"/>, already read.</summary>
        RecordContext Header(long offset, XenLayer layer, XenRecordType type, long length);

        /// <summary>
        /// Context of an unframed record: <paramref name="headerLength"/> bytes at
        /// <paramref name="offset"/> already read, then a payload of <paramref name="payloadLength"/>
        /// bytes at the current position, left unread (skipped, or streamed through OpenPayload).
        /// </summary>
        RecordContext Unframed(long offset, XenLayer layer, XenRecordType type, uint? typeCode, long headerLength, long payloadLength);

        /// <summary>"The {name} at offset ... is invalid: {detail}." with the reader's record index.</summary>
        XenFormatException HeaderError(string errorId, string name, long offset, string detail);

        /// <summary>The input ended inside the header or record <paramref name="name"/> that starts at <paramref name="offset"/>.</summary>
        XenTruncatedException HeaderTruncated(string name, long offset);

        /// <summary>
        /// The input has fewer than <paramref name="length"/> bytes after the current position (on a
        /// seekable input; on a pipe this is found when they fail to arrive): the record
        /// <paramref name="name"/> at <paramref name="offset"/> declares more than there is.
        /// </summary>
        void RequireRemaining(long length, string name, long offset, string what);
    }
}
