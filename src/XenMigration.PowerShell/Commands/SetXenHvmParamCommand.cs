using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using XenMigration.Libxc;
using XenMigration.Records;
using XenMigration.Rewrite;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Sets, adds or removes HVM params in the HVM_PARAMS records passing down the pipeline.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "XenHvmParam", DefaultParameterSetName = SetParameterSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Set-XenHvmParam.md")]
    [OutputType(typeof(XenStreamRecord), typeof(XenEditedRecord))]
    public sealed class SetXenHvmParamCommand : RecordEditCmdlet
    {
        private const string SetParameterSet = "Set";
        private const string RemoveParameterSet = "Remove";
        private ulong[] _indexes = Array.Empty<ulong>();
        /// <summary>The params: params.h names (VIRIDIAN, HVM_PARAM_TIMER_MODE) or indexes.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ArgumentCompleter(typeof(HvmParamNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[] Name { get; set; } = Array.Empty<string>();

        /// <summary>The value each param is set to (one for all, or one per name).</summary>
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = SetParameterSet)]
        [ValidateNotNullOrEmpty]
        public ulong[] Value { get; set; } = Array.Empty<ulong>();

        /// <summary>Removes the params from the record instead.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RemoveParameterSet)]
        public SwitchParameter Remove { get; set; }

        private protected override (string Id, string Message)? NoneSeen => ("NoHvmParams", "No HVM_PARAMS record came down the pipeline: only HVM guests' streams carry HVM params.");

        private protected override bool Edits(XenStreamRecord record) => record.Type == XenRecordType.HvmParams;

        private protected override XenEditedRecord? Edit(XenStreamRecord record)
        {
            var set = new List<KeyValuePair<ulong, ulong>>();
            if (!Remove)
            {
                for (int i = 0; i < _indexes.Length; i++)
                {
                    set.Add(new KeyValuePair<ulong, ulong>(_indexes[i], Value.Length == 1 ? Value[0] : Value[i]));
                }
            }

            return RecordEdits.HvmParams(record, set, Remove ? _indexes : Array.Empty<ulong>());
        }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            _indexes = Name.Select(n => HvmParamNames.IndexOf(n) ?? throw new PSArgumentException(string.Format(
                CultureInfo.InvariantCulture,
                "'{0}' is not an HVM param: use a name from Xen's params.h ({1}, ...) or an index.",
                n,
                string.Join(", ", HvmParamNames.Names.Take(12))), nameof(Name))).ToArray();
            if (!Remove && Value.Length != 1 && Value.Length != Name.Length)
            {
                ThrowTerminatingError(ErrorRecords.Create(new PSArgumentException("Give one value for all the params, or one value per param.", nameof(Value)), "ValueCountMismatch", ErrorCategory.InvalidArgument, Value));
            }
        }

    }
}
