using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;

namespace XenMigration.Commands
{
    /// <summary>
    /// The module's error records: one place decides every ErrorId and category, so they stay the
    /// same across cmdlets (tests and users match on "ErrorId,XenMigration.Commands.XCommand").
    /// </summary>
    internal static class ErrorRecords
    {
        public static ErrorRecord FileNotFound(string path, Exception ex) =>
            Create(ex, "FileNotFound", ErrorCategory.ObjectNotFound, path);

        public static ErrorRecord NotFileSystem(string path, string providerName) =>
            Create(
                new ArgumentException(string.Format(CultureInfo.InvariantCulture, "The path '{0}' is on the {1} provider; only file-system paths are supported.", path, providerName)),
                "OnlySupportsFileSystemPaths",
                ErrorCategory.InvalidArgument,
                path);

        public static ErrorRecord InvalidPath(string path, Exception ex) =>
            Create(ex, "InvalidPath", ErrorCategory.InvalidArgument, path);

        public static ErrorRecord IsDirectory(string path) =>
            Create(
                new ArgumentException(string.Format(CultureInfo.InvariantCulture, "The path '{0}' is a directory, not a file.", path)),
                "PathIsDirectory",
                ErrorCategory.InvalidArgument,
                path);

        /// <summary>Maps what opening or reading a file can throw.</summary>
        public static ErrorRecord FromException(Exception ex, string path)
        {
            switch (ex)
            {
                case XenUnsupportedFormatException wrong when CommandFor(wrong.Format) is string command:
                {
                    // Core says what the data is; this layer says which cmdlet reads it.
                    ErrorRecord record = Create(wrong, wrong.ErrorId, CategoryOf(wrong.ErrorId), path);
                    string hint = wrong.Format == DetectedFormat.LegacyLibxc ? "Convert it with " + command + "." : "Read it with " + command + ".";
                    record.ErrorDetails = new ErrorDetails(record.ErrorDetails!.Message + " " + hint) { RecommendedAction = hint };
                    return record;
                }

                case XenFormatException xf:
                    return Create(xf, xf.ErrorId, CategoryOf(xf.ErrorId), path);
                case FileNotFoundException or DirectoryNotFoundException:
                    return Create(ex, "FileNotFound", ErrorCategory.ObjectNotFound, path);
                case UnauthorizedAccessException or System.Security.SecurityException:
                    return Create(ex, "UnauthorizedAccessError", ErrorCategory.PermissionDenied, path);
                default:
                    return Create(ex, "FileReadError", ErrorCategory.ReadError, path);
            }
        }

        /// <summary>True for the exceptions <see cref="FromException"/> turns into per-file errors.</summary>
        public static bool IsPerFile(Exception ex) =>
            ex is XenFormatException || ex is IOException || ex is UnauthorizedAccessException || ex is System.Security.SecurityException;

        /// <summary>The cmdlet of this module that reads <paramref name="format"/>, if any.</summary>
        public static string? CommandFor(DetectedFormat format) => format switch
        {
            DetectedFormat.XlSaveFile or DetectedFormat.Libxl or DetectedFormat.Libxc => "Get-XenStreamRecord",
            DetectedFormat.XenstoreDump => "Import-XenstoreDump",
            DetectedFormat.LegacyLibxc => "ConvertTo-XenStreamV2",
            DetectedFormat.QemuSavevm or DetectedFormat.LibvirtSave => "Get-QemuDeviceState",
            _ => null,
        };

        public static ErrorCategory CategoryOf(string errorId) => errorId switch
        {
            XenErrorIds.UnexpectedEndOfStream => ErrorCategory.ReadError,
            XenErrorIds.UnsupportedFormat => ErrorCategory.InvalidType,
            XenErrorIds.UnsupportedVersion => ErrorCategory.NotImplemented,
            XenErrorIds.BigEndianStream => ErrorCategory.NotImplemented,
            XenErrorIds.UnsupportedLegacyChunk => ErrorCategory.NotImplemented,
            XenErrorIds.AmbiguousWidth => ErrorCategory.InvalidArgument,
            XenErrorIds.GuestTypeMismatch => ErrorCategory.InvalidArgument,
            XenErrorIds.AmbiguousGuestType => ErrorCategory.InvalidArgument,
            XenErrorIds.NeedsSeekableInput => ErrorCategory.InvalidOperation,
            XenErrorIds.NoGuestMemory => ErrorCategory.ObjectNotFound,
            XenErrorIds.RewriteFailedVerification => ErrorCategory.InvalidResult,
            XenErrorIds.NotLegacyStream => ErrorCategory.InvalidOperation,
            XenErrorIds.ConversionFailedVerification => ErrorCategory.InvalidResult,
            XenErrorIds.UnsupportedCompression => ErrorCategory.NotImplemented,
            XenErrorIds.PartialImage => ErrorCategory.InvalidData,
            XenErrorIds.NoQemuState => ErrorCategory.ObjectNotFound,
            _ => ErrorCategory.InvalidData,
        };

        public static ErrorRecord Create(Exception ex, string errorId, ErrorCategory category, object? target)
        {
            var record = new ErrorRecord(ex, errorId, category, target);
            if (target is string path)
            {
                // With many files in one run, the message must say which one.
                record.ErrorDetails = new ErrorDetails(path + ": " + ex.Message);
            }

            return record;
        }
    }
}
