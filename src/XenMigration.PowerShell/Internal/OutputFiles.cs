using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using Microsoft.PowerShell.Commands;

namespace XenMigration.Commands
{
    /// <summary>
    /// Destination handling shared by the writing cmdlets, after PathUtils.ResolveFilePath and
    /// MasterStreamOpen: literal resolution (the file need not exist), file-system only, and the
    /// -NoClobber / read-only / -Force rules checked before anything is written.
    /// </summary>
    internal static class OutputFiles
    {
        /// <summary>Resolves a destination path (taken literally) to a file-system path.</summary>
        public static string Resolve(PSCmdlet cmdlet, string path)
        {
            string resolved = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
            if (provider.ImplementingType != typeof(FileSystemProvider))
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is on the {1} provider; only file-system paths are supported.", path, provider.Name));
            }

            return Path.GetFullPath(resolved);
        }

        /// <summary>
        /// The error that forbids writing <paramref name="destination"/>, or null. Sources are
        /// compared by full path so an input is never overwritten by its own output.
        /// </summary>
        public static ErrorRecord? Check(string destination, string? source, bool noClobber, bool force)
        {
            if (source is not null && string.Equals(Path.GetFullPath(source), destination, PathComparison))
            {
                return ErrorRecords.Create(new ArgumentException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is the input file; the input is never overwritten. Choose another destination.", destination)), "DestinationIsSource", ErrorCategory.InvalidArgument, destination);
            }

            if (Directory.Exists(destination))
            {
                return ErrorRecords.Create(new IOException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is a directory.", destination)), "DestinationIsDirectory", ErrorCategory.InvalidArgument, destination);
            }

            if (!File.Exists(destination))
            {
                return null;
            }

            if (noClobber)
            {
                return ErrorRecords.Create(new IOException(string.Format(CultureInfo.InvariantCulture, "The file '{0}' already exists and -NoClobber was specified.", destination)), "NoClobber", ErrorCategory.ResourceExists, destination);
            }

            if (!force && (File.GetAttributes(destination) & FileAttributes.ReadOnly) != 0)
            {
                return ErrorRecords.Create(new UnauthorizedAccessException(string.Format(CultureInfo.InvariantCulture, "The file '{0}' is read-only. Use -Force to replace it.", destination)), "FileOpenFailure", ErrorCategory.OpenError, destination);
            }

            return null;
        }

        /// <summary>
        /// Commits <paramref name="writer"/> over its destination. With -Force a read-only destination
        /// is replaced and the new file made read-only again (as Export-Csv -Force does).
        /// </summary>
        public static void Commit(XenMigration.Framing.AtomicFileWriter writer, bool force)
        {
            string destination = writer.Destination;
            bool wasReadOnly = force && File.Exists(destination) && (File.GetAttributes(destination) & FileAttributes.ReadOnly) != 0;
            if (wasReadOnly)
            {
                File.SetAttributes(destination, File.GetAttributes(destination) & ~FileAttributes.ReadOnly);
            }

            try
            {
                writer.Commit(overwrite: true);
            }
            finally
            {
                if (wasReadOnly && File.Exists(destination))
                {
                    File.SetAttributes(destination, File.GetAttributes(destination) | FileAttributes.ReadOnly);
                }
            }
        }

        private static StringComparison PathComparison =>
            Environment.OSVersion.Platform == PlatformID.Win32NT ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
    }
}
