using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Rules;

namespace XenMigration.Verification
{
    /// <summary>The outcome of verifying one image (Test-XenStream -Detailed).</summary>
    public sealed class XenStreamValidationResult
    {
        internal XenStreamValidationResult(string? path, bool strict, IReadOnlyList<XenStreamIssue> issues, int errorCount, int warningCount, int informationCount)
        {
            InformationCount = informationCount;
            FilePath = path;
            Strict = strict;
            Issues = ReadOnlyView.Of(issues);
            ErrorCount = errorCount;
            WarningCount = warningCount;
        }

        /// <summary>The file verified.</summary>
        public string? FilePath { get; }
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
        public System.Version? XenVersion { get; internal set; }
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
        public override string ToString() => FilePath + ": " + (IsValid ? "valid" : "invalid") + " (" + Plural(ErrorCount, "error") + ", " + Plural(WarningCount, "warning") + ")";

        /// <summary>
        /// The result for an input that could not be read at all (missing, a directory, a device,
        /// no permission, an I/O error): invalid, with one Error issue whose code is
        /// <paramref name="errorId"/>, so a report over many files needs no second stream.
        /// </summary>
        public static XenStreamValidationResult ForUnreadableInput(string? path, string errorId, string message, bool strict = false)
        {
            var issue = new XenStreamIssue(path, XenIssueSeverity.Error, errorId ?? throw new ArgumentNullException(nameof(errorId)), null, null, null, message ?? throw new ArgumentNullException(nameof(message)));
            return new XenStreamValidationResult(path, strict, new[] { issue }, 1, 0, 0) { Format = DetectedFormat.Unknown };
        }

        /// <summary>"1 error", "2 errors".</summary>
        internal static string Plural(long n, string noun) => n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? string.Empty : "s");
    }
}
