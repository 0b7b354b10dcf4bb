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
    public sealed class SetXenTscInfoCommand : RecordEditCmdlet
    {
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

        private protected override (string Id, string Message)? NoneSeen => ("NoTscInfo", "No X86_TSC_INFO record came down the pipeline: x86 streams carry one before the vCPU state.");

        private protected override bool Edits(XenStreamRecord record) => record.Type == XenRecordType.TscInfo;

        private protected override XenEditedRecord? Edit(XenStreamRecord record) => RecordEdits.TscInfo(
            record,
            MyInvocation.BoundParameters.ContainsKey(nameof(Mode)) ? Mode : null,
            MyInvocation.BoundParameters.ContainsKey(nameof(Khz)) ? Khz : null,
            MyInvocation.BoundParameters.ContainsKey(nameof(Nanoseconds)) ? Nanoseconds : null,
            MyInvocation.BoundParameters.ContainsKey(nameof(Incarnation)) ? Incarnation : null);
    }
}
