using System;
using System.Management.Automation;
using XenMigration.Records;
using XenMigration.Rewrite;

namespace XenMigration.Commands
{
    /// <summary>
    /// The Set-* cmdlets of image rewriting: records pass through unchanged except the ones the cmdlet
    /// edits, which come out as XenEditedRecord for Export-XenStream; an error at the end says so when
    /// no record of that kind came by. A failed edit stops the pipeline: a half-edited image must not be written.
    /// </summary>
    public abstract class RecordEditCmdlet : PSCmdlet
    {
        private bool _seen;

        /// <summary>Records from Get-XenStreamRecord; all but the ones this cmdlet edits pass through unchanged.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public XenStreamRecord? InputObject { get; set; }

        /// <summary>True for the records this cmdlet edits.</summary>
        private protected abstract bool Edits(XenStreamRecord record);

        /// <summary>The edited record, or null when the edit changes nothing.</summary>
        private protected abstract XenEditedRecord? Edit(XenStreamRecord record);

        /// <summary>The error when no record to edit came down the pipeline (id, message); null for none.</summary>
        private protected abstract (string Id, string Message)? NoneSeen { get; }

        /// <summary>A cmdlet's own error for what an edit threw (bad arguments), or null.</summary>
        private protected virtual ErrorRecord? EditError(Exception ex, XenStreamRecord record) => null;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (InputObject is null)
            {
                return;
            }

            if (!Edits(InputObject))
            {
                WriteObject(InputObject);
                return;
            }

            _seen = true;
            try
            {
                WriteObject(Edit(InputObject) ?? InputObject);
            }
            catch (Exception ex) when (EditError(ex, InputObject) is ErrorRecord error)
            {
                ThrowTerminatingError(error);
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex))
            {
                ThrowTerminatingError(ErrorRecords.FromException(ex, InputObject.FilePath ?? InputObject.ToString()));
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (!_seen && NoneSeen is (string id, string message))
            {
                WriteError(ErrorRecords.Create(new InvalidOperationException(message), id, ErrorCategory.ObjectNotFound, null));
            }
        }
    }
}
