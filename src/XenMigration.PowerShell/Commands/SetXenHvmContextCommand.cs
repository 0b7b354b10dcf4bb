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
    public sealed class SetXenHvmContextCommand : PSCmdlet
    {
        /// <summary>Records from Get-XenStreamRecord; all but HVM_CONTEXT pass through unchanged.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public XenStreamRecord? InputObject { get; set; }

        /// <summary>The entries to write back (from Get-XenHvmContext, edited), matched by typecode and instance.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("Context")]
        [ValidateNotNullOrEmpty]
        public HvmContextEntry[] Entry { get; set; } = Array.Empty<HvmContextEntry>();

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (InputObject is null)
            {
                return;
            }

            if (InputObject.Type != XenRecordType.HvmContext)
            {
                WriteObject(InputObject);
                return;
            }

            try
            {
                XenEditedRecord? edited = RecordEdits.HvmContext(InputObject, Entry);
                WriteObject(edited is null ? InputObject : edited);
            }
            catch (NotSupportedException ex)
            {
                ThrowTerminatingError(ErrorRecords.Create(ex, "EntryNotWritable", ErrorCategory.NotImplemented, InputObject));
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                ThrowTerminatingError(ErrorRecords.FromException(ex, InputObject.FilePath ?? InputObject.ToString()));
            }
        }
    }
}
