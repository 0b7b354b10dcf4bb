using XenMigration.Framing;

namespace XenMigration.XenStream
{
    /// <summary>
    /// What a format's record decoder needs from the stream reader: the open record's body and the
    /// context every record is built from (offset, index, payload position, padding).
    /// </summary>
    internal interface IRecordDecoding
    {
        FramedRecordReader Frames { get; }

        StreamSource Source { get; }

        /// <summary>The PV guest width in bytes (4 or 8) from the last X86_PV_INFO, for the vCPU records after it.</summary>
        int? GuestWidth { get; set; }

        /// <summary>Context of a record whose body is fully decoded (the rest of the body is skipped now).</summary>
        RecordContext Decoded(RecordFrame frame, XenLayer layer, XenRecordType type);

        /// <summary>Context of a record whose remaining body is an opaque payload, left unread.</summary>
        RecordContext Payload(RecordFrame frame, XenLayer layer, XenRecordType type);
    }
}
