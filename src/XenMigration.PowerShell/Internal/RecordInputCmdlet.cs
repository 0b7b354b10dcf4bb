using System;
using System.Globalization;
using System.Management.Automation;
using XenMigration.Records;

namespace XenMigration.Commands
{
    /// <summary>
    /// Base of the cmdlets that read one kind of Xen record's payload (EMULATOR_CONTEXT, HVM_CONTEXT):
    /// files by -Path / -LiteralPath, or records from Get-XenStreamRecord on the pipeline, where other
    /// records pass by quietly unless none fits.
    /// </summary>
    public abstract class RecordInputCmdlet : InputFileCmdlet
    {
        /// <summary>Parameter set of -InputObject.</summary>
        protected const string RecordSet = "InputObject";

        // By the set's name prefix: a cmdlet may split the record set further (InputObject, InputObjectAddress, ...).
        private bool FromRecords => ParameterSetName.StartsWith(RecordSet, StringComparison.Ordinal);

        private int _skipped;
        private int _used;

        /// <summary>Records from Get-XenStreamRecord whose payload to read.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RecordSet, ValueFromPipeline = true)]
        [ValidateNotNull]
        public virtual XenStreamRecord? InputObject { get; set; }

        /// <summary>The record type this cmdlet reads.</summary>
        private protected abstract XenRecordType AcceptedType { get; }

        /// <summary>Records of other types this cmdlet reads too (a XenServer image's QEMU record for the QEMU cmdlets).</summary>
        private protected virtual bool Accepts(XenStreamRecord record) => false;

        /// <summary>Reads one accepted record.</summary>
        private protected abstract void ProcessInputRecord(XenStreamRecord record);

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (!FromRecords)
            {
                base.ProcessRecord();
                return;
            }

            if (InputObject!.Type != AcceptedType && !Accepts(InputObject))
            {
                _skipped++;
                return;
            }

            _used++;
            ProcessInputRecord(InputObject);
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (FromRecords && _used == 0 && _skipped > 0)
            {
                WriteError(ErrorRecords.Create(
                    new ArgumentException(string.Format(CultureInfo.InvariantCulture, "None of the {0} records piped in is a {1} record. Pipe Get-XenStreamRecord -Type {1}.", _skipped, AcceptedType)),
                    "Not" + AcceptedType,
                    ErrorCategory.InvalidArgument,
                    null));
            }
        }
    }
}
