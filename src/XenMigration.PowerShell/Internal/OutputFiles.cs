using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using Microsoft.PowerShell.Commands;
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
        /// The one path of every writing cmdlet before its work: the destination rules of Core
        /// (<see cref="OutputFile.Check"/>), a warning about temporary files that interrupted runs
        /// left behind, and -WhatIf/-Confirm. Returns whether to go on; <paramref name="refusal"/>
        /// says why not when the destination may not be written.
        /// </summary>
        public static bool Prepare(Cmdlet cmdlet, string destination, string? source, CommitOptions commit, string action, out ErrorRecord? refusal)
        {
            refusal = null;
            try
            {
                OutputFile.Check(destination, source, commit);
            }
            catch (DestinationException ex)
            {
                refusal = Refusal(ex);
                return false;
            }

            foreach (string leftover in AtomicFileWriter.FindLeftovers(destination))
            {
                cmdlet.WriteWarning(string.Format(CultureInfo.InvariantCulture, "'{0}' is a temporary file left by an interrupted write of '{1}' (killed, or out of disk space). Delete it if no other write to that file is running.", leftover, destination));
            }

            return cmdlet.ShouldProcess(destination, action);
        }

        /// <summary>The error record of a refused destination, with the parameter that changes the outcome.</summary>
        public static ErrorRecord Refusal(DestinationException ex)
        {
            (string id, ErrorCategory category, string hint) = ex.Problem switch
            {
                DestinationProblem.IsSource => ("DestinationIsSource", ErrorCategory.InvalidArgument, " Choose another destination."),
                DestinationProblem.IsDirectory => ("DestinationIsDirectory", ErrorCategory.InvalidArgument, string.Empty),
                DestinationProblem.NotRegularFile => ("DestinationNotRegularFile", ErrorCategory.InvalidArgument, string.Empty),
                DestinationProblem.DanglingLink => ("DestinationIsDanglingLink", ErrorCategory.InvalidArgument, string.Empty),
                DestinationProblem.Exists => ("NoClobber", ErrorCategory.ResourceExists, " (-NoClobber)"),
                DestinationProblem.NoFileName => ("DestinationHasNoFileName", ErrorCategory.InvalidArgument, " Name a file, or use -DestinationFolder."),
                DestinationProblem.WriteFailed => ("FileWriteError", ErrorCategory.WriteError, " Nothing was written; free space or choose another destination."),
                _ => ("FileOpenFailure", ErrorCategory.OpenError, " Use -Force to replace it."),
            };
            var record = new ErrorRecord(ex, id, category, ex.Destination);
            record.ErrorDetails = new ErrorDetails(ex.Message + hint);
            return record;
        }

        /// <summary>
        /// Where one input's output goes: into -DestinationFolder, or -Destination taken as a file,
        /// or as a folder when it is an existing directory or ends with a separator ("out/", created
        /// when missing, as Copy-Item does). The file in a folder is named by <paramref name="name"/>.
        /// </summary>
        public static string DestinationFor(PSCmdlet cmdlet, string? destination, string? folder, string input, Func<string, string> name, out bool isFolder)
        {
            if (folder is not null)
            {
                isFolder = true;
                return Path.Combine(Resolve(cmdlet, folder), name(input));
            }

            string target = Resolve(cmdlet, destination!);
            if (destination!.EndsWith("/", StringComparison.Ordinal) || destination.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal))
            {
                Directory.CreateDirectory(target);
                isFolder = true;
                return Path.Combine(target, name(input));
            }

            isFolder = Directory.Exists(target);
            return isFolder ? Path.Combine(target, name(input)) : target;
        }

        /// <summary>-PassThru: the provider's item, whose PSPath binds -LiteralPath downstream (brackets work).</summary>
        public static void PassThru(PSCmdlet cmdlet, string destination) =>
            cmdlet.WriteObject(cmdlet.InvokeProvider.Item.Get(new[] { destination }, force: true, literalPath: true), enumerateCollection: true);
    }
}
