using System;
using System.Collections.Generic;
using System.Management.Automation;
using XenMigration.HvmContext;
using XenMigration.Images;
using XenMigration.Records;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Decodes the HVM context of Xen save images: vCPU registers, local APICs, IOAPIC, PIC, PIT, RTC, HPET, MTRRs, XSAVE and MSR state.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "XenHvmContext", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-XenHvmContext.md")]
    [OutputType(typeof(HvmContextEntry))]
    public sealed class GetXenHvmContextCommand : RecordInputCmdlet
    {
        private HashSet<HvmTypeCode>? _codes;
        private HashSet<ushort>? _instances;
        private readonly Dictionary<string, int> _checkpoints = new Dictionary<string, int>(StringComparer.Ordinal);

        /// <summary>Only entries of these typecodes are written.</summary>
        [Parameter]
        [SupportsWildcards]
        [EnumArgument(typeof(HvmTypeCode))]
        [ArgumentCompleter(typeof(HvmTypeCodeCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? TypeCode { get; set; }

        /// <summary>Only entries of these instances (vCPU numbers; PIC 0 master, 1 slave) are written.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public ushort[]? Instance { get; set; }

        private protected override XenRecordType AcceptedType => XenRecordType.HvmContext;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            _codes = TypeCode is null ? null : new HashSet<HvmTypeCode>(EnumNames.Parse<HvmTypeCode>(TypeCode));
            _instances = Instance is null ? null : new HashSet<ushort>(Instance);
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            if (Write(path, () => XenImages.ReadHvmContext(path)) == 0)
            {
                WriteWarning(path + ": the image has no HVM_CONTEXT record (a PV guest keeps its vCPU state in X86_PV_VCPU_* records: see Get-XenStreamRecord).");
            }
        }

        private protected override void ProcessInputRecord(XenStreamRecord record)
        {
            // Records piped from one file count as its checkpoints, in the order they arrive.
            string key = record.FilePath ?? string.Empty;
            _checkpoints.TryGetValue(key, out int checkpoint);
            _checkpoints[key] = checkpoint + 1;
            Write(record.FilePath ?? record.ToString(), () => HvmContextDecoder.DecodeRecord(record, checkpoint));
        }

        // One kind asked for: the entry as it is, shown by its kind's own view. Several kinds (or all):
        // marked as part of a mixed listing, so they share the common table instead of falling back to lists.
        private object Shaped(HvmContextEntry e)
        {
            if (_codes is not null && _codes.Count == 1)
            {
                return e;
            }

            var shaped = PSObject.AsPSObject(e);
            shaped.TypeNames.Insert(0, MixedTypeName);
            return shaped;
        }

        private const string MixedTypeName = "XenMigration.HvmContext.HvmContextEntry#Mixed";

        // Writes the wanted entries; returns how many entries the source had (wanted or not), -1 on failure.
        private int Write(string target, Func<IEnumerable<HvmContextEntry>> entries)
        {
            int count = 0;
            bool ok = RunInput(target, 0x48564D43, _ =>
            {
                foreach (HvmContextEntry e in entries())
                {
                    count++;
                    if ((_codes is null || _codes.Contains(e.TypeCode)) && (_instances is null || _instances.Contains(e.Instance)))
                    {
                        WriteObject(Shaped(e));
                    }

                    if (Stopping)
                    {
                        return;
                    }
                }
            });
            return ok ? count : -1;
        }
    }
}
