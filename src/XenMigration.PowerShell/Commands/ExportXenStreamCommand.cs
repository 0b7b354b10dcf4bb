using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using XenMigration.FileIO;
using XenMigration.Records;
using XenMigration.Rewrite;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes an image from the records of one image, unchanged ones byte for byte and edited ones re-encoded, verified before it replaces anything.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "XenStream", SupportsShouldProcess = true, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Export-XenStream.md")]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportXenStreamCommand : PSCmdlet, IDisposable
    {
        private readonly System.Threading.CancellationTokenSource _stop = new System.Threading.CancellationTokenSource();
        private RewriteSession? _session;
        private bool _failed;
        private bool _declined;

        /// <summary>Records from Get-XenStreamRecord (possibly filtered) and the Set-* cmdlets.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public XenStreamRecord? InputObject { get; set; }

        /// <summary>The image to write.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = string.Empty;

        /// <summary>Write the image even when it fails verification (with a warning), to test a restore path.</summary>
        [Parameter]
        public SwitchParameter AllowInvalid { get; set; }

        /// <summary>Replace a read-only destination.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Never replace an existing destination.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Write a FileInfo for the image written.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc/>
        protected override void StopProcessing() => _stop.Cancel();

        /// <inheritdoc/>
        public void Dispose()
        {
            _session?.Dispose();
            _stop.Dispose();
        }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (_failed || _declined || InputObject is null)
            {
                return;
            }

            try
            {
                if (_session is null)
                {
                    string destination;
                    try
                    {
                        destination = OutputFiles.Resolve(this, Destination);
                    }
                    catch (ArgumentException ex)
                    {
                        Fail(ErrorRecords.Create(ex, "InvalidDestination", ErrorCategory.InvalidArgument, Destination));
                        return;
                    }

                    var commit = new CommitOptions { NoClobber = NoClobber, Force = Force };
                    if (!OutputFiles.Prepare(this, destination, InputObject.FilePath, commit, string.Format(CultureInfo.CurrentCulture, "Write an image from the records of '{0}'", InputObject.FilePath), out ErrorRecord? refusal))
                    {
                        if (refusal is not null)
                        {
                            Fail(refusal);
                        }
                        else
                        {
                            _declined = true;
                        }

                        return;
                    }

                    _session = new RewriteSession(InputObject, destination, new RewriteOptions { AllowInvalid = AllowInvalid, CancellationToken = _stop.Token }, commit);
                }

                _session.Add(InputObject);
            }
            catch (DestinationException ex)
            {
                Fail(OutputFiles.Refusal(ex));
            }
            catch (InvalidOperationException ex)
            {
                Fail(ErrorRecords.Create(ex, "RecordsFromSeveralImages", ErrorCategory.InvalidArgument, InputObject));
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                Fail(ErrorRecords.FromException(ex, InputObject.FilePath ?? Destination));
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (_session is null || _failed)
            {
                return;
            }

            try
            {
                RewriteResult r = _session.Finish();
                if (r.Verification.ErrorCount > 0)
                {
                    WriteWarning(string.Format(CultureInfo.InvariantCulture, "{0} was written although it fails verification ({1} errors), as -AllowInvalid asked.", _session.Destination, r.Verification.ErrorCount));
                }

                WriteVerbose(string.Format(CultureInfo.InvariantCulture, "wrote {0}: {1} records ({2} edited, {3} left out), {4} bytes", _session.Destination, r.Records, r.Edited, r.Dropped, r.Bytes));
                if (PassThru)
                {
                    OutputFiles.PassThru(this, _session.Destination);
                }
            }
            catch (DestinationException ex)
            {
                WriteError(OutputFiles.Refusal(ex));
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                WriteError(ErrorRecords.FromException(ex, _session.Destination));
            }
            finally
            {
                _session.Dispose();
                _session = null;
            }
        }

        private void Fail(ErrorRecord error)
        {
            _failed = true;
            _session?.Dispose();
            _session = null;
            ThrowTerminatingError(error);
        }
    }
}
