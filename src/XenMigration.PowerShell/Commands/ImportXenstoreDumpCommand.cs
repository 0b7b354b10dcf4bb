using System.Management.Automation;
using XenMigration.Framing;
using XenMigration.Xenstore;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads xenstore migration / live-update dumps as typed records.</para>
    /// </summary>
    [Cmdlet(VerbsData.Import, "XenstoreDump", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Import-XenstoreDump.md")]
    [OutputType(typeof(XenstoreRecord))]
    public sealed class ImportXenstoreDumpCommand : InputFileCmdlet
    {
        private bool[]? _wanted;

        /// <summary>Only records of these types are written.</summary>
        [Parameter]
        [SupportsWildcards]
        [EnumArgument(typeof(XenstoreRecordType))]
        [ValidateNotNullOrEmpty]
        public string[]? Type { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Type is not null)
            {
                _wanted = new bool[16];
                foreach (XenstoreRecordType t in EnumNames.Parse<XenstoreRecordType>(Type))
                {
                    _wanted[Slot(t)] = true;
                }
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            IRecordReader<XenstoreRecord>? reader = null;
            WriteRecords(
                path,
                0x58454E34,
                stream => reader = XenstoreDumpOpener.Open(stream, path),
                record => _wanted is null || _wanted[Slot(record.Type)]);

            // An oxenstored dump holds a few things the binary format has no field for: say which.
            if (reader is OxenstoredDumpReader ox)
            {
                foreach (string what in ox.Unmapped)
                {
                    WriteVerbose(path + ": oxenstored dump: not kept in the records (the binary format has no field for it): " + what);
                }
            }
        }

        private static int Slot(XenstoreRecordType type) => (int)type + 2;
    }
}
