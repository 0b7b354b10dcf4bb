using System;
using System.Management.Automation;
using XenMigration.Libxc;
using XenMigration.Records;
using XenMigration.Rewrite;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Changes the TSC mode, frequency, elapsed time or incarnation in the X86_TSC_INFO records passing down the pipeline.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "XenTscInfo", HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Set-XenTscInfo.md")]
    [OutputType(typeof(XenStreamRecord), typeof(XenEditedRecord))]
    public sealed class SetXenTscInfoCommand : PSCmdlet
    {
        private bool _seen;

        /// <summary>Records from Get-XenStreamRecord; all but X86_TSC_INFO pass through unchanged.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public XenStreamRecord? InputObject { get; set; }

        /// <summary>The TSC mode (Default, AlwaysEmulate, NeverEmulate, Pvrdtscp).</summary>
        [Parameter]
        public TscMode Mode { get; set; }

        /// <summary>The guest's TSC frequency in kHz.</summary>
        [Parameter]
        public uint Khz { get; set; }

        /// <summary>The elapsed nanoseconds.</summary>
        [Parameter]
        public ulong Nanoseconds { get; set; }

        /// <summary>The incarnation.</summary>
        [Parameter]
        public uint Incarnation { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (InputObject is null)
            {
                return;
            }

            if (InputObject.Type != XenRecordType.TscInfo)
            {
                WriteObject(InputObject);
                return;
            }

            _seen = true;
            try
            {
                XenEditedRecord? edited = RecordEdits.TscInfo(
                    InputObject,
                    MyInvocation.BoundParameters.ContainsKey(nameof(Mode)) ? Mode : null,
                    MyInvocation.BoundParameters.ContainsKey(nameof(Khz)) ? Khz : null,
                    MyInvocation.BoundParameters.ContainsKey(nameof(Nanoseconds)) ? Nanoseconds : null,
                    MyInvocation.BoundParameters.ContainsKey(nameof(Incarnation)) ? Incarnation : null);
                WriteObject(edited is null ? InputObject : edited);
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                ThrowTerminatingError(ErrorRecords.FromException(ex, InputObject.FilePath ?? InputObject.ToString()));
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (!_seen)
            {
                WriteError(ErrorRecords.Create(new InvalidOperationException("No X86_TSC_INFO record came down the pipeline: x86 streams carry one before the vCPU state."), "NoTscInfo", ErrorCategory.ObjectNotFound, null));
            }
        }
    }
}
