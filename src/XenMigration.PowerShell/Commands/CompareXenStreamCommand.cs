using System;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using Microsoft.PowerShell.Commands;
using XenMigration.Inspection;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Compares two images part by part (config, headers, HVM params, HVM context, PV vCPUs, QEMU state, xenstore, memory) and writes each difference.</para>
    /// </summary>
    [Cmdlet(VerbsData.Compare, "XenStream", HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Compare-XenStream.md")]
    [OutputType(typeof(XenStreamDifference))]
    public sealed class CompareXenStreamCommand : PSCmdlet, IDisposable
    {
        private readonly System.Threading.CancellationTokenSource _stop = new System.Threading.CancellationTokenSource();

        /// <summary>The reference image.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string ReferencePath { get; set; } = string.Empty;

        /// <summary>The image compared with it.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string DifferencePath { get; set; } = string.Empty;

        /// <summary>Compare only these parts (all but Memory by default).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public XenImagePart[]? Part { get; set; }

        /// <summary>Compare guest memory too (every page is read and hashed).</summary>
        [Parameter]
        public SwitchParameter IncludeMemory { get; set; }

        /// <inheritdoc/>
        protected override void StopProcessing() => _stop.Cancel();

        /// <inheritdoc/>
        public void Dispose() => _stop.Dispose();

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            string? reference = ResolveOne(ReferencePath), difference = ResolveOne(DifferencePath);
            if (reference is null || difference is null)
            {
                return;
            }

            XenImagePart parts = XenImagePart.None;
            foreach (XenImagePart p in Part ?? new[] { XenImagePart.AllButMemory })
            {
                parts |= p;
            }

            if (IncludeMemory)
            {
                parts |= XenImagePart.Memory;
            }

            try
            {
                foreach (XenStreamDifference d in ImageComparer.Compare(reference, difference, parts, _stop.Token))
                {
                    WriteObject(d);
                }
            }
            catch (OperationCanceledException) when (Stopping)
            {
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                WriteError(ErrorRecords.FromException(ex, ex is XenFormatException { } && ex.Message.Contains(difference) ? difference : reference));
            }
        }

        private string? ResolveOne(string path)
        {
            try
            {
                Collection<string> found = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out ProviderInfo provider);
                if (provider.ImplementingType != typeof(FileSystemProvider) || found.Count != 1 || Directory.Exists(found[0]))
                {
                    WriteError(ErrorRecords.Create(new ArgumentException(string.Format(CultureInfo.InvariantCulture, "'{0}' must name exactly one file.", path)), "InvalidPath", ErrorCategory.InvalidArgument, path));
                    return null;
                }

                return found[0];
            }
            catch (ItemNotFoundException ex)
            {
                WriteError(ErrorRecords.FileNotFound(path, ex));
                return null;
            }
        }
    }
}
