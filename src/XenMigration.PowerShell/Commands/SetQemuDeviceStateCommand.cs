using System;
using System.Management.Automation;
using XenMigration.Records;
using XenMigration.Rewrite;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes a new value into one field of QEMU's device state inside the EMULATOR_CONTEXT records passing down the pipeline.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "QemuDeviceState", HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Set-QemuDeviceState.md")]
    [OutputType(typeof(XenStreamRecord), typeof(XenEditedRecord))]
    public sealed class SetQemuDeviceStateCommand : RecordEditCmdlet
    {
        /// <summary>The section's name (its IdStr, as Get-QemuDeviceState shows it: hpet, mc146818rtc, ...).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Section { get; set; } = string.Empty;

        /// <summary>The section's instance, when several sections share the name.</summary>
        [Parameter]
        public uint Instance { get; set; }

        /// <summary>The field's name as Get-QemuDeviceState shows it (in the section, its subsections or structs).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Field { get; set; } = string.Empty;

        /// <summary>The element, for a field that is an array element.</summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int Index { get; set; }

        /// <summary>The new value (an integer, or $true/$false for bool fields; negative values for signed fields).</summary>
        [Parameter(Mandatory = true, Position = 2)]
        public object Value { get; set; } = 0;

        private protected override (string Id, string Message)? NoneSeen => ("NoDeviceState", "No EMULATOR_CONTEXT record came down the pipeline: only HVM guests with a device model have QEMU state.");

        // EMULATOR_CONTEXT, or a XenServer image's Qemu_xen record (the same state).
        private protected override bool Edits(XenStreamRecord record) =>
            record.Type == XenRecordType.EmulatorContext || (record.Type == XenRecordType.XenServerSection && record.TypeCode == 0x0f01);

        private protected override XenEditedRecord? Edit(XenStreamRecord record) => RecordEdits.QemuField(
            record,
            Section,
            MyInvocation.BoundParameters.ContainsKey(nameof(Instance)) ? Instance : null,
            Field,
            MyInvocation.BoundParameters.ContainsKey(nameof(Index)) ? Index : null,
            ToBits(Value));

        private protected override ErrorRecord? EditError(Exception ex, XenStreamRecord record) => ex switch
        {
            ArgumentException => ErrorRecords.Create(ex, "NoSuchField", ErrorCategory.InvalidArgument, record),
            NotSupportedException => ErrorRecords.Create(ex, "FieldNotWritable", ErrorCategory.NotImplemented, record),
            _ => null,
        };

        // Two's complement bits of the value: fields keep their width, the edit checks it fits.
        private static ulong ToBits(object value)
        {
            object v = value is PSObject p ? p.BaseObject : value;
            return v switch
            {
                bool b => b ? 1UL : 0UL,
                ulong u => u,
                long l => unchecked((ulong)l),
                int i => unchecked((ulong)(long)i),
                uint u32 => u32,
                short s => unchecked((ulong)(long)s),
                ushort us => us,
                byte b8 => b8,
                sbyte sb => unchecked((ulong)(long)sb),
                decimal d when d >= 0 => decimal.ToUInt64(d),
                decimal d => unchecked((ulong)decimal.ToInt64(d)),
                string s when s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) => ulong.Parse(s.Substring(2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture),
                _ => LanguagePrimitives.ConvertTo<ulong>(v),
            };
        }
    }
}
