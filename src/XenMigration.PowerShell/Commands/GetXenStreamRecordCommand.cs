using System;
using System.IO;
using System.Management.Automation;
using XenMigration.Framing;
using XenMigration.XenStream;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the headers and records of Xen save images as typed objects.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "XenStreamRecord", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(XenStreamRecord))]
    public sealed class GetXenStreamRecordCommand : InputFileCmdlet
    {
        private bool[]? _wanted;

        /// <summary>Only records of these types are written.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public XenRecordType[]? Type { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Type is not null)
            {
                _wanted = new bool[Enum.GetValues(typeof(XenRecordType)).Length];
                foreach (XenRecordType t in Type)
                {
                    _wanted[(int)t] = true;
                }
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            var progress = new ProgressReporter(this, 0x58454E31, "Get-XenStreamRecord");
            try
            {
                // The file stays open (shared for reading) while records stream down the pipeline;
                // Select-Object -First stops us with an exception that the using blocks let through.
                using FileStream stream = XenFile.OpenRead(path);
                using var reader = new XenStreamReader(stream, leaveOpen: false, new XenStreamReaderOptions { SourcePath = path });
                XenStreamRecord? record;
                while ((record = reader.ReadNext()) is not null)
                {
                    if (_wanted is null || _wanted[(int)record.Type])
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
    }
}
