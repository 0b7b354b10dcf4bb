using System;
using System.Management.Automation;
using XenMigration.Records;
using XenMigration.XenStream;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the headers and records of Xen save images as typed objects.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "XenStreamRecord", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-XenStreamRecord.md")]
    [OutputType(typeof(XenStreamRecord))]
    public sealed class GetXenStreamRecordCommand : InputFileCmdlet
    {
        private bool[]? _wanted;

        /// <summary>Only records of these types are written.</summary>
        [Parameter]
        [SupportsWildcards]
        [EnumArgument(typeof(XenRecordType))]
        [ArgumentCompleter(typeof(XenRecordTypeCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? Type { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Type is not null)
            {
                _wanted = new bool[Enum.GetValues(typeof(XenRecordType)).Length];
                foreach (XenRecordType t in EnumNames.Parse<XenRecordType>(Type))
                {
                    _wanted[(int)t] = true;
                }
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path) => WriteRecords(
            path,
            0x58454E31,
            stream => new XenStreamReader(stream, leaveOpen: false, new XenStreamReaderOptions { SourcePath = path }),
            record => _wanted is null || _wanted[(int)record.Type]);
    }
}
