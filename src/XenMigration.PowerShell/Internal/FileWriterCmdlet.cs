using System;
using System.IO;
using System.Management.Automation;
using XenMigration.FileIO;

namespace XenMigration.Commands
{
    /// <summary>
    /// Cmdlets that read image files and write one file per input (ConvertTo-XenStreamV2,
    /// Export-GuestMemory): -Destination or -DestinationFolder, -Force, -NoClobber, -PassThru, and
    /// the checks every such writer makes before any work (one of the two destinations, one input
    /// for a file destination, the destination rules of OutputFiles with -WhatIf/-Confirm).
    /// </summary>
    public abstract class FileWriterCmdlet : InputFileCmdlet
    {
        private int _inputs;
        private bool _destinationIsFolder;

        /// <summary>The file to write (one input only); an existing directory receives a file named after the input.</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        /// <summary>The directory that receives one file per input, named after the input.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? DestinationFolder { get; set; }

        /// <summary>Replace a read-only destination.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Never replace an existing destination.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Write a FileInfo for each file written.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>What the cmdlet writes, for the message when no destination is given ("the converted image").</summary>
        private protected abstract string WrittenThing { get; }

        /// <summary>The file name written into -DestinationFolder (or a directory -Destination) for an input.</summary>
        private protected abstract string OutputName(string input);

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Destination is not null && DestinationFolder is not null)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("Specify -Destination or -DestinationFolder, not both."), "CannotSpecifyDestinationAndDestinationFolder", ErrorCategory.InvalidArgument, null));
            }

            if (Destination is null && DestinationFolder is null)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("Specify where to write " + WrittenThing + ": -Destination for a file, -DestinationFolder for a directory."), "DestinationRequired", ErrorCategory.InvalidArgument, null));
            }
        }

        /// <summary>
        /// The destination for <paramref name="path"/>, checked and confirmed (-WhatIf/-Confirm with
        /// <paramref name="action"/>); false, with the error written, when nothing may be written for it.
        /// </summary>
        private protected bool TryDestination(string path, Func<string, string> action, out string destination, out CommitOptions commit)
        {
            commit = new CommitOptions { NoClobber = NoClobber, Force = Force };
            try
            {
                destination = OutputFiles.DestinationFor(this, Destination, DestinationFolder, path, OutputName, out _destinationIsFolder);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException || ex is SessionStateException)
            {
                WriteError(ErrorRecords.Create(ex, "InvalidDestination", ErrorCategory.InvalidArgument, Destination ?? DestinationFolder));
                destination = string.Empty;
                return false;
            }

            if (++_inputs > 1 && Destination is not null && !_destinationIsFolder)
            {
                WriteError(ErrorRecords.Create(new ArgumentException("-Destination names a single file but several inputs were given; use -DestinationFolder."), "DestinationTakesOneFile", ErrorCategory.InvalidArgument, path));
                return false;
            }

            if (!OutputFiles.Prepare(this, destination, path, commit, action(destination), out ErrorRecord? refusal))
            {
                if (refusal is not null)
                {
                    WriteError(refusal);
                }

                return false;
            }

            return true;
        }
    }
}
