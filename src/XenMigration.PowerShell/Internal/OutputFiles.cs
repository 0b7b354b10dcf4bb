using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using Microsoft.PowerShell.Commands;
using XenMigration.Framing;
using XenMigration.FileIO;

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
            // By identity (device and inode), not by name: a symlink, symlinked folder or hard link
            // to the input must not let the output overwrite it.
            if (source is not null && FileIdentity.SameFile(source, destination))
            {
                return ErrorRecords.Create(new ArgumentException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is the input file (or a link to it); the input is never overwritten. Choose another destination.", destination)), "DestinationIsSource", ErrorCategory.InvalidArgument, destination);
            }

            switch (FileIdentity.KindOf(destination))
            {
                case FileKind.Directory:
                    return ErrorRecords.Create(new IOException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is a directory.", destination)), "DestinationIsDirectory", ErrorCategory.InvalidArgument, destination);
                case FileKind.Special:
                    // A device, FIFO or socket would be replaced by a regular file on rename.
                    return ErrorRecords.Create(new IOException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is a device, FIFO or socket, not a regular file; it is never replaced. Write to a file and copy it there.", destination)), "DestinationNotRegularFile", ErrorCategory.InvalidArgument, destination);
                case FileKind.DanglingLink:
                    return ErrorRecords.Create(new IOException(string.Format(CultureInfo.InvariantCulture, "The destination '{0}' is a symbolic link whose target does not exist.", destination)), "DestinationIsDanglingLink", ErrorCategory.InvalidArgument, destination);
                case FileKind.Missing:
                    return null;
            }

            if (noClobber)
            {
                return NoClobber(destination);
            }

            if (!force && (File.GetAttributes(destination) & FileAttributes.ReadOnly) != 0)
            {
                return ErrorRecords.Create(new UnauthorizedAccessException(string.Format(CultureInfo.InvariantCulture, "The file '{0}' is read-only. Use -Force to replace it.", destination)), "FileOpenFailure", ErrorCategory.OpenError, destination);
            }

            return null;
        }

        /// <summary>The one -NoClobber refusal of every writing cmdlet, before the work or at the commit.</summary>
        public static ErrorRecord NoClobber(string destination) =>
            ErrorRecords.Create(new IOException(string.Format(CultureInfo.InvariantCulture, "The file '{0}' already exists and -NoClobber was specified.", destination)), "NoClobber", ErrorCategory.ResourceExists, destination);

        /// <summary>Warns about temporary files that earlier, interrupted writes left next to <paramref name="destination"/>.</summary>
        public static void WarnAboutLeftovers(PSCmdlet cmdlet, string destination)
        {
            foreach (string leftover in AtomicFileWriter.FindLeftovers(destination))
            {
                cmdlet.WriteWarning(string.Format(CultureInfo.InvariantCulture, "'{0}' is a temporary file left by an interrupted write of '{1}' (killed, or out of disk space). Delete it if no other write to that file is running.", leftover, destination));
            }
        }

        /// <summary>
        /// Commits <paramref name="writer"/> over its destination. With -Force a read-only destination
        /// is replaced and the new file made read-only again (as Export-Csv -Force does).
        /// </summary>
        /// <returns>False when -NoClobber is set and a file appeared at the destination meanwhile (nothing is replaced).</returns>
        public static bool Commit(AtomicFileWriter writer, bool force, bool noClobber)
        {
            string destination = writer.Destination;
            bool wasReadOnly = force && File.Exists(destination) && (File.GetAttributes(destination) & FileAttributes.ReadOnly) != 0;
            if (wasReadOnly)
            {
                File.SetAttributes(destination, File.GetAttributes(destination) & ~FileAttributes.ReadOnly);
            }

            try
            {
                if (noClobber)
                {
                    // Checked again here: a file created while the work ran must not be replaced.
                    try
                    {
                        writer.Commit(overwrite: false);
                    }
                    catch (IOException) when (File.Exists(destination))
                    {
                        return false;
                    }
                }
                else
                {
                    writer.Commit(overwrite: true);
                }

                return true;
            }
            finally
            {
                if (wasReadOnly && File.Exists(destination))
                {
                    File.SetAttributes(destination, File.GetAttributes(destination) | FileAttributes.ReadOnly);
                }
            }
        }

    }
}
