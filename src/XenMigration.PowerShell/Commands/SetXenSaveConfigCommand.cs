using System;
using System.Management.Automation;
using XenMigration.Records;
using XenMigration.Rewrite;
using XenMigration.Xl;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Replaces the domain configuration in the xl header record passing down the pipeline.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "XenSaveConfig", HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Set-XenSaveConfig.md")]
    [OutputType(typeof(XenStreamRecord), typeof(XenEditedRecord))]
    public sealed class SetXenSaveConfigCommand : PSCmdlet
    {
        private bool _replaced;

        /// <summary>Records from Get-XenStreamRecord; all but the xl header pass through unchanged.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public XenStreamRecord? InputObject { get; set; }

        /// <summary>The new configuration: libxl JSON (starts with "{") or xl config text.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Config { get; set; } = string.Empty;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (InputObject is XlHeaderRecord xl)
            {
                _replaced = true;
                WriteObject(RecordEdits.XlConfig(xl, Config));
            }
            else if (InputObject is not null)
            {
                WriteObject(InputObject);
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (!_replaced)
            {
                WriteError(ErrorRecords.Create(new InvalidOperationException("No xl header came down the pipeline: only xl save files carry a domain configuration to replace."), "NoXlHeader", ErrorCategory.ObjectNotFound, null));
            }
        }
    }
}
