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
    public sealed class SetXenSaveConfigCommand : RecordEditCmdlet
    {
        /// <summary>The new configuration: libxl JSON (starts with "{") or xl config text.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Config { get; set; } = string.Empty;

        private protected override (string Id, string Message)? NoneSeen => ("NoXlHeader", "No xl header came down the pipeline: only xl save files carry a domain configuration to replace.");

        private protected override bool Edits(XenStreamRecord record) => record is XlHeaderRecord;

        private protected override XenEditedRecord? Edit(XenStreamRecord record) => RecordEdits.XlConfig((XlHeaderRecord)record, Config);
    }
}
