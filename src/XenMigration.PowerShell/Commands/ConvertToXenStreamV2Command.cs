using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using XenMigration.FileIO;
using XenMigration.Images;
using XenMigration.Legacy;
using XenMigration.Libxc;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Converts legacy (Xen 4.5 and older) save images to v2 streams, byte-identical to Xen's converter.</para>
    /// </summary>
    [Cmdlet(VerbsData.ConvertTo, "XenStreamV2", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/ConvertTo-XenStreamV2.md")]
    [OutputType(typeof(FileInfo))]
    public sealed class ConvertToXenStreamV2Command : FileWriterCmdlet
    {
        /// <summary>PV or HVM: the legacy format does not record it; detected when omitted.</summary>
        [Parameter]
        [ValidateSet("Pv", "Hvm", IgnoreCase = true)]
        public XenGuestType GuestType { get; set; }

        /// <summary>Bitness of the toolstack that saved the image; detected when omitted.</summary>
        [Parameter]
        [ValidateSet("32", "64")]
        public int Width { get; set; }

        /// <summary>Output format; by default Libxl when the input has an xl header, else Libxc.</summary>
        [Parameter]
        public LegacyOutputFormat Format { get; set; }

        /// <summary>Libxc output: leave out the HVM device-model (QEMU) record.</summary>
        [Parameter]
        public SwitchParameter SkipQemu { get; set; }

        /// <inheritdoc/>
        private protected override string WrittenThing => "the converted image";

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (SkipQemu && MyInvocation.BoundParameters.ContainsKey(nameof(Format)) && Format == LegacyOutputFormat.Libxl)
            {
                WriteWarning("-SkipQemu has no effect with -Format Libxl: a libxl stream always carries the device-model state (as with Xen's converter).");
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            string format = MyInvocation.BoundParameters.ContainsKey(nameof(Format)) ? Format.ToString().ToLowerInvariant() : "v2";
            if (!TryDestination(path, _ => string.Format(CultureInfo.CurrentCulture, "Convert legacy {0}image '{1}' to a {2} stream", GuestType == XenGuestType.Reserved ? string.Empty : GuestType + " ", path, format), out string destination, out CommitOptions commit))
            {
                return;
            }

            Convert(path, destination, commit);
        }

        private void Convert(string path, string destination, CommitOptions commit)
        {
            var progress = new ProgressReporter(this, 0x58454E33, "ConvertTo-XenStreamV2");
            var options = new LegacyConversionOptions
            {
                GuestType = GuestType,
                Width = MyInvocation.BoundParameters.ContainsKey(nameof(Width)) ? Width : null,
                Format = MyInvocation.BoundParameters.ContainsKey(nameof(Format)) ? Format : null,
                SkipQemu = SkipQemu,
                Log = line => WriteVerbose(path + ": " + line),
                Progress = (done, total) => progress.Report(path, done, total),
                CancellationToken = Stopped,
            };
            try
            {
                // Check, convert to a temporary file, verify, commit: one Core operation.
                LegacyFileConversionResult done = ImageConversion.ConvertLegacyFile(path, destination, options, commit);
                LegacyConversionResult result = done.Conversion;
                WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0}: wrote {1} ({2} {3}{4} stream, {5}-bit toolstack{6}, {7} pages in {8} batches, {9} bytes)", path, destination, result.GuestType == XenGuestType.Pv ? "PV" : "HVM", result.GuestTypeDetected ? "(detected) " : string.Empty, result.Format, result.Width, result.WidthDetected ? " detected" : string.Empty, result.Pages, result.PageBatches, result.BytesWritten));
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
                ErrorRecord error = ErrorRecords.FromException(ex, path);
                // Core names no parameter; the cmdlet says which of its parameters resolves the refusal.
                string? hint = (ex as XenFormatException)?.ErrorId switch
                {
                    XenErrorIds.AmbiguousWidth => "Run again with -Width 32 or -Width 64: the width of the toolstack that saved the image.",
                    XenErrorIds.GuestTypeMismatch => "Run again with -GuestType " + (GuestType == XenGuestType.Pv ? "Hvm" : "Pv") + ", or without -GuestType to detect it.",
                    XenErrorIds.AmbiguousGuestType => "Run again with -GuestType Pv or -GuestType Hvm: the guest type of the saved domain.",
                    _ => null,
                };
                if (hint is not null && error.ErrorDetails is not null)
                {
                    error.ErrorDetails = new ErrorDetails(error.ErrorDetails.Message + " " + hint) { RecommendedAction = hint };
                }

                WriteError(error);
            }
            finally
            {
                progress.Complete();
            }
        }

        // A converted image is a save image: "vm.legacy" becomes "vm.save" ("vm.save" stays "vm.save").
        private protected override string OutputName(string input) => System.IO.Path.GetFileNameWithoutExtension(input) + ".save";
    }
}
