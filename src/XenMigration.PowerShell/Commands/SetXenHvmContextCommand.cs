using System;
using System.Management.Automation;
using XenMigration.HvmContext;
using XenMigration.Records;
using XenMigration.Rewrite;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes edited HVM context entries back into the HVM_CONTEXT records passing down the pipeline.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "XenHvmContext", HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Set-XenHvmContext.md")]
    [OutputType(typeof(XenStreamRecord), typeof(XenEditedRecord))]
    public sealed class SetXenHvmContextCommand : RecordEditCmdlet
    {
        /// <summary>The entries to write back (from Get-XenHvmContext, edited), matched by typecode and instance.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("Context")]
        [ValidateNotNullOrEmpty]
        public HvmContextEntry[] Entry { get; set; } = Array.Empty<HvmContextEntry>();

        // Every HVM_CONTEXT of the stream (one per checkpoint) is offered the entries; none is not an error.
        private protected override (string Id, string Message)? NoneSeen => null;

        private protected override bool Edits(XenStreamRecord record) => record.Type == XenRecordType.HvmContext;

        private protected override XenEditedRecord? Edit(XenStreamRecord record) => RecordEdits.HvmContext(record, Entry);

        private protected override ErrorRecord? EditError(Exception ex, XenStreamRecord record) =>
            ex is NotSupportedException ? ErrorRecords.Create(ex, "EntryNotWritable", ErrorCategory.NotImplemented, record) : null;
    }
}
