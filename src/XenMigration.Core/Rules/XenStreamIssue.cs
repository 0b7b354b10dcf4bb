using System.Globalization;
using XenMigration.Records;

namespace XenMigration.Rules
{
    /// <summary>One problem found in an image.</summary>
    public sealed class XenStreamIssue
    {
        /// <summary>Creates an issue.</summary>
        public XenStreamIssue(string? path, XenIssueSeverity severity, string code, long? offset, long? recordIndex, XenRecordType? recordType, string message)
        {
            FilePath = path;
            Severity = severity;
            Code = code;
            Offset = offset;
            RecordIndex = recordIndex;
            RecordType = recordType;
            Message = message;
        }

        /// <summary>The file the issue was found in (so issues of many files can be mixed and sorted).</summary>
        public string? FilePath { get; }
        /// <summary>Error, Warning or Information.</summary>
        public XenIssueSeverity Severity { get; }
        /// <summary>Stable code of the rule (documented in Test-XenStream's help).</summary>
        public string Code { get; }
        /// <summary>Byte offset in the file of what is wrong; null for a summary that has no single place.</summary>
        public long? Offset { get; }
        /// <summary>Index of the record concerned; null for an issue of the file as a whole.</summary>
        public long? RecordIndex { get; }
        /// <summary>Type of the record concerned, when known.</summary>
        public XenRecordType? RecordType { get; }
        /// <summary>What is wrong, and who objects.</summary>
        public string Message { get; }

        /// <inheritdoc/>
        public override string ToString() => Severity + " " + Code + Where() + ": " + Message;

        /// <summary>" at offset 0x1F (31), record #3 PageData", or less when the issue has no offset or record.</summary>
        internal string Where() =>
            (Offset is long o ? string.Format(CultureInfo.InvariantCulture, " at offset 0x{0:X} ({0})", o) : string.Empty) +
            (RecordIndex is long i ? string.Format(CultureInfo.InvariantCulture, ", record #{0} {1}", i, RecordType) : string.Empty);
    }
}
