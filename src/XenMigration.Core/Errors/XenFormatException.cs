using System;
using System.Globalization;

namespace XenMigration
{
    /// <summary>
    /// Stable identifiers of the ways an input can be wrong. They become the ErrorId of PowerShell
    /// error records and the Code of verification issues, so they never change once published.
    /// </summary>
    public static class XenErrorIds
    {
        /// <summary>The input ended in the middle of a header or record.</summary>
        public const string UnexpectedEndOfStream = "UnexpectedEndOfStream";
        /// <summary>The input is not any format this library knows.</summary>
        public const string UnrecognizedFormat = "UnrecognizedFormat";
        /// <summary>The input is a known format that the operation does not handle (legacy stream, xenstore dump, QEMU stream, ...).</summary>
        public const string UnsupportedFormat = "UnsupportedFormat";
        /// <summary>A header names a format version this library does not read.</summary>
        public const string UnsupportedVersion = "UnsupportedVersion";
        /// <summary>The stream declares big-endian records, which Xen refuses to restore.</summary>
        public const string BigEndianStream = "BigEndianStream";
        /// <summary>A header's magic, identifier or fixed fields are wrong.</summary>
        public const string InvalidHeader = "InvalidHeader";
        /// <summary>A record's declared length exceeds the cap (128 MiB by default, Xen's REC_LENGTH_MAX).</summary>
        public const string RecordTooLarge = "RecordTooLarge";
        /// <summary>A record's length does not fit its fixed fields or the counts it declares.</summary>
        public const string InvalidRecordLength = "InvalidRecordLength";
        /// <summary>A mandatory record type that is not defined by the format.</summary>
        public const string UnknownRecordType = "UnknownRecordType";
        /// <summary>A record's contents are malformed.</summary>
        public const string InvalidRecord = "InvalidRecord";
        /// <summary>A legacy (Xen 4.5 and older) stream breaks its format.</summary>
        public const string InvalidLegacyStream = "InvalidLegacyStream";
        /// <summary>A legacy stream uses a feature that cannot be converted (tmem, Remus compression, unknown device-model records).</summary>
        public const string UnsupportedLegacyChunk = "UnsupportedLegacyChunk";
        /// <summary>The bitness of the toolstack that wrote a legacy stream cannot be told from its contents.</summary>
        public const string AmbiguousWidth = "AmbiguousWidth";
        /// <summary>A legacy image that parses as the other guest type than the one given.</summary>
        public const string GuestTypeMismatch = "GuestTypeMismatch";
        /// <summary>An image written by Export-XenStream fails verification; nothing was written.</summary>
        public const string RewriteFailedVerification = "RewriteFailedVerification";
        /// <summary>The operation needs a seekable input (a file), and the input is a pipe.</summary>
        public const string NeedsSeekableInput = "NeedsSeekableInput";
        /// <summary>The image holds no guest memory (a device-model state, or no PAGE_DATA).</summary>
        public const string NoGuestMemory = "NoGuestMemory";
        /// <summary>A legacy image reads as both guest types; the guest type must be given.</summary>
        public const string AmbiguousGuestType = "AmbiguousGuestType";
        /// <summary>A converted stream failed verification, so it was not written.</summary>
        public const string ConversionFailedVerification = "ConversionFailedVerification";
        /// <summary>The input is already a v2 stream: there is nothing to convert.</summary>
        public const string NotLegacyStream = "NotLegacyStream";
        /// <summary>A Xen save image without an EMULATOR_CONTEXT record: it holds no QEMU state.</summary>
        public const string NoQemuState = "NoQemuState";
        /// <summary>An image whose writer did not finish (libvirt's "LibvirtQemudPart").</summary>
        public const string PartialImage = "PartialImage";
        /// <summary>Compressed data that fails its checksum, has its trailer cut off or garbage after it, or decompresses to the wrong length.</summary>
        public const string CorruptCompressedData = "CorruptCompressedData";
        /// <summary>A compressed stream whose compressor this module does not implement; the message names the tool.</summary>
        public const string UnsupportedCompression = "UnsupportedCompression";
    }

    /// <summary>
    /// Thrown when the bytes of an input do not follow its format. Carries the byte offset where the
    /// problem was found, the index of the record being read (or -1 outside records) and a stable
    /// <see cref="ErrorId"/>.
    /// </summary>
    public class XenFormatException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public XenFormatException(string errorId, string message, long offset, long recordIndex = -1, string? recordName = null, Exception? innerException = null)
            : base(message, innerException)
        {
            ErrorId = errorId ?? throw new ArgumentNullException(nameof(errorId));
            Offset = offset;
            RecordIndex = recordIndex;
            RecordName = recordName;
        }

        /// <summary>Stable identifier of the problem (see <see cref="XenErrorIds"/>).</summary>
        public string ErrorId { get; }

        /// <summary>Byte offset in the input where the problem was found.</summary>
        public long Offset { get; }

        /// <summary>Zero-based index of the record being read, or -1 when the problem is not inside a record.</summary>
        public long RecordIndex { get; }

        /// <summary>Name of the record type being read, when known.</summary>
        public string? RecordName { get; }

        /// <summary>Formats "record #3 (PageData) at offset 0x1000 (4096)" for messages.</summary>
        internal static string Where(long offset, long recordIndex, string? recordName)
        {
            string at = string.Format(CultureInfo.InvariantCulture, "offset 0x{0:X} ({0})", offset);
            if (recordIndex < 0)
            {
                return at;
            }

            return recordName is null
                ? string.Format(CultureInfo.InvariantCulture, "record #{0} at {1}", recordIndex, at)
                : string.Format(CultureInfo.InvariantCulture, "record #{0} ({1}) at {2}", recordIndex, recordName, at);
        }
    }

    /// <summary>The input ended before a header or record was complete.</summary>
    public sealed class XenTruncatedException : XenFormatException
    {
        /// <summary>Creates the exception.</summary>
        public XenTruncatedException(string message, long offset, long recordIndex = -1, string? recordName = null)
            : base(XenErrorIds.UnexpectedEndOfStream, message, offset, recordIndex, recordName)
        {
        }
    }

    /// <summary>
    /// The input was recognised as a format that this operation does not handle; the message names
    /// the format and, where one exists, the command that does handle it.
    /// </summary>
    public sealed class XenUnsupportedFormatException : XenFormatException
    {
        /// <summary>Creates the exception.</summary>
        public XenUnsupportedFormatException(DetectedFormat format, string message, long offset)
            : base(XenErrorIds.UnsupportedFormat, message, offset)
        {
            Format = format;
        }

        /// <summary>The format that was recognised (callers can say which tool reads it).</summary>
        public DetectedFormat Format { get; }
    }
}
