using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using XenMigration.FileIO;
using XenMigration.Memory;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes the guest memory of a Xen, QEMU or libvirt image to a sparse raw image or an ELF core.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "GuestMemory", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Export-GuestMemory.md")]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportGuestMemoryCommand : FileWriterCmdlet
    {
        /// <summary>Raw (flat, sparse) or Elf (core file); by default Elf for a destination ending in .elf, .core or .vmcore, else Raw.</summary>
        [Parameter]
        public GuestMemoryFormat Format { get; set; }

        /// <summary>Checkpointed Xen streams: the memory at the end of this checkpoint (1-based).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Checkpoint { get; set; }

        /// <summary>Only the guest-physical range from this address (with -Length), as a raw image: byte i of the file is the guest's byte at Address + i.</summary>
        [Parameter]
        [AddressTransformation]
        public ulong Address { get; set; }

        /// <summary>Bytes of the range from -Address (any size: the range is streamed to the file, not held).</summary>
        [Parameter]
        [ValidateRange(1L, long.MaxValue)]
        public long Length { get; set; }

        private bool HasRange => MyInvocation.BoundParameters.ContainsKey(nameof(Address)) || MyInvocation.BoundParameters.ContainsKey(nameof(Length));

        /// <inheritdoc/>
        private protected override string WrittenThing => "the memory";

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();

            if (HasRange && !(MyInvocation.BoundParameters.ContainsKey(nameof(Address)) && MyInvocation.BoundParameters.ContainsKey(nameof(Length))))
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("A range of guest memory needs both -Address and -Length."), "RangeNeedsAddressAndLength", ErrorCategory.InvalidArgument, null));
            }

            if (HasRange && MyInvocation.BoundParameters.ContainsKey(nameof(Format)) && Format == GuestMemoryFormat.Elf)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("A range of guest memory is written as a raw image; an ELF core holds whole memory ranges."), "RangeIsRaw", ErrorCategory.InvalidArgument, null));
            }

            if (HasRange && Address > ulong.MaxValue - (ulong)(Length - 1))
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentOutOfRangeException(nameof(Length), string.Format(CultureInfo.InvariantCulture, "-Address 0x{0:x} with -Length {1} passes the end of the 64-bit address space.", Address, Length)), "AddressOutOfRange", ErrorCategory.InvalidArgument, Address));
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            GuestMemoryFormat format = GuestMemoryFormat.Raw;
            if (!TryDestination(path, d => string.Format(CultureInfo.CurrentCulture, "Export the guest memory of '{0}' as {1}", path, (format = FormatFor(d)) == GuestMemoryFormat.Elf ? "an ELF core" : "a raw image"), out string destination, out CommitOptions commit))
            {
                return;
            }

            format = FormatFor(destination);
            RunExport(path, destination, format, commit);
        }

        private void RunExport(string path, string destination, GuestMemoryFormat format, CommitOptions commit)
        {
            var progress = new ProgressReporter(this, 0x584D4558, "Export-GuestMemory");
            var options = new GuestMemoryExportOptions
            {
                Format = format,
                Checkpoint = MyInvocation.BoundParameters.ContainsKey(nameof(Checkpoint)) ? Checkpoint : null,
                Range = HasRange ? (Address, Length) : null,
                Progress = (done, total) => progress.Report(path, done, total),
                CancellationToken = Stopped,
            };
            try
            {
                GuestMemoryExportResult r = GuestMemoryExport.ExportFile(path, destination, options, commit);
                WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0}: wrote {1} ({2}: {3} data pages, {4} zero pages as holes, {5} ranges, {6} vCPUs{7}, {8} bytes apparent)", path, destination, r.Format, r.DataPages, r.ZeroPages, r.Ranges, r.Vcpus, r.HasVmcoreInfo ? ", VMCOREINFO" : string.Empty, r.FileLength));
                if (PassThru)
                {
                    OutputFiles.PassThru(this, destination);
                }
            }
            catch (DestinationException ex)
            {
                WriteError(OutputFiles.Refusal(ex));
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                WriteError(ErrorRecords.FromException(ex, path));
            }
            finally
            {
                progress.Complete();
            }
        }

        private GuestMemoryFormat FormatFor(string destination)
        {
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Format)))
            {
                return Format;
            }

            string ext = System.IO.Path.GetExtension(destination).ToLowerInvariant();
            return HasRange ? GuestMemoryFormat.Raw : ext is ".elf" or ".core" or ".vmcore" ? GuestMemoryFormat.Elf : GuestMemoryFormat.Raw;
        }

        private protected override string OutputName(string input) =>
            System.IO.Path.GetFileNameWithoutExtension(input) + (MyInvocation.BoundParameters.ContainsKey(nameof(Format)) && Format == GuestMemoryFormat.Elf ? ".elf" : ".raw");
    }
}
