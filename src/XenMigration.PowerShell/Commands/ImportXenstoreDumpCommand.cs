using System;
using System.IO;
using System.Management.Automation;
using XenMigration.Framing;
using XenMigration.Xenstore;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads xenstore migration / live-update dumps as typed records.</para>
    /// </summary>
    [Cmdlet(VerbsData.Import, "XenstoreDump", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(XenstoreRecord))]
    public sealed class ImportXenstoreDumpCommand : InputFileCmdlet
    {
        private bool[]? _wanted;

        /// <summary>Only records of these types are written.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public XenstoreRecordType[]? Type { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Type is not null)
            {
                _wanted = new bool[16];
                foreach (XenstoreRecordType t in Type)
                {
                    _wanted[Slot(t)] = true;
                }
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            var progress = new ProgressReporter(this, 0x58454E34, "Import-XenstoreDump");
            try
            {
                using FileStream stream = XenFile.OpenRead(path);
                using var reader = new XenstoreDumpReader(stream, leaveOpen: false, new XenstoreDumpReaderOptions { SourcePath = path });
                XenstoreRecord? record;
                while ((record = reader.ReadNext()) is not null)
                {
                    if (_wanted is null || _wanted[Slot(record.Type)])
                    {
                        WriteObject(record);
                    }

                    progress.Report(path, reader.Position, reader.Length);
                    if (Stopping)
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                WriteError(ErrorRecords.FromException(ex, path));
            }
            finally
            {
                progress.Complete();
            }
        }

        private static int Slot(XenstoreRecordType type) => (int)type + 2;
    }
}
