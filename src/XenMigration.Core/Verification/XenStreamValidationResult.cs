using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.XenStream;

namespace XenMigration.Verification
{
    /// <summary>One problem found in an image.</summary>
    public sealed class XenStreamIssue
    {
        /// <summary>Creates an issue.</summary>
        public XenStreamIssue(string? path, XenIssueSeverity severity, string code, long? offset, long? recordIndex, XenRecordType? recordType, string message)
        {
            Path = path;
            Severity = severity;
            Code = code;
            Offset = offset;
            RecordIndex = recordIndex;
            RecordType = recordType;
            Message = message;
        }

        /// <summary>The file the issue was found in (so issues of many files can be mixed and sorted).</summary>
        public string? Path { get; }
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

    /// <summary>The outcome of verifying one image (Test-XenStream -Detailed).</summary>
    public sealed class XenStreamValidationResult
    {
        internal XenStreamValidationResult(string? path, bool strict, IReadOnlyList<XenStreamIssue> issues, int errorCount, int warningCount, int informationCount)
        {
            InformationCount = informationCount;
            Path = path;
            Strict = strict;
            Issues = issues;
            ErrorCount = errorCount;
            WarningCount = warningCount;
        }

        /// <summary>The file verified.</summary>
        public string? Path { get; }
        /// <summary>No errors (and, with <see cref="Strict"/>, no warnings).</summary>
        public bool IsValid => ErrorCount == 0 && (!Strict || WarningCount == 0);
        /// <summary>Whether warnings count as failures.</summary>
        public bool Strict { get; }
        /// <summary>Outer format: XlSaveFile, Libxl or Libxc (or what was recognised instead).</summary>
        public DetectedFormat Format { get; internal set; }
        /// <summary>libxl stream version, when there is a libxl layer.</summary>
        public uint? LibxlVersion { get; internal set; }
        /// <summary>libxc stream version (2 or 3).</summary>
        public uint? LibxcVersion { get; internal set; }
        /// <summary>Xen version of the saver, from the domain header.</summary>
        public string? XenVersion { get; internal set; }
        /// <summary>PV or HVM.</summary>
        public XenGuestType? GuestType { get; internal set; }
        /// <summary>True for Remus/COLO streams (CHECKPOINT records).</summary>
        public bool Checkpointed { get; internal set; }
        /// <summary>Headers and records read.</summary>
        public long RecordCount { get; internal set; }
        /// <summary>Guest pages with contents in PAGE_DATA records.</summary>
        public long PageCount { get; internal set; }
        /// <summary>Bytes read from the file (page contents are skipped on seekable files).</summary>
        public long BytesRead { get; internal set; }
        /// <summary>Size of the file, when it is seekable.</summary>
        public long? FileLength { get; internal set; }
        /// <summary>Number of Error issues (including those beyond the 20 listed per code).</summary>
        public int ErrorCount { get; }
        /// <summary>Number of Warning issues (including those beyond the 20 listed per code).</summary>
        public int WarningCount { get; }
        /// <summary>Number of Information notes (never a failure, not even with <see cref="Strict"/>).</summary>
        public int InformationCount { get; }
        /// <summary>The issues, in file order; at most 20 per code, then one that counts the rest.</summary>
        public IReadOnlyList<XenStreamIssue> Issues { get; }

        /// <inheritdoc/>
        public override string ToString() => Path + ": " + (IsValid ? "valid" : "invalid") + " (" + Plural(ErrorCount, "error") + ", " + Plural(WarningCount, "warning") + ")";

        /// <summary>"1 error", "2 errors".</summary>
        internal static string Plural(long n, string noun) => n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? string.Empty : "s");
    }
}
