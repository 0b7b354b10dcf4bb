using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>
    /// The decoded state of one VMState description: a device section's body, a struct field or a
    /// subsection (docs/formats §8.7). Fields come in stream order; an array's elements are one field
    /// each with <see cref="QemuField.Index"/> set, as QEMU's analyze-migration.py unfolds them.
    /// </summary>
    public sealed class QemuVmState
    {
        internal QemuVmState(string name, int version, long offset, long length, IReadOnlyList<QemuField> fields, IReadOnlyList<QemuVmState> subsections)
        {
            Name = name;
            Version = version;
            Offset = offset;
            Length = length;
            Fields = ReadOnlyView.Of(fields);
            Subsections = ReadOnlyView.Of(subsections);
        }

        /// <summary>The VMState description's name (vmsd_name), e.g. <c>cpu</c> or <c>cpu/async_pf_msr</c>.</summary>
        public string Name { get; }

        /// <summary>The version the state was saved with.</summary>
        public int Version { get; }

        /// <summary>Byte offset of the first field (for a subsection: of its 0x05 marker) in the input.</summary>
        public long Offset { get; }

        /// <summary>Bytes of the state, subsections included.</summary>
        public long Length { get; }

        /// <summary>The fields, in stream order.</summary>
        public IReadOnlyList<QemuField> Fields { get; }

        /// <summary>The subsections that were sent, in stream order.</summary>
        public IReadOnlyList<QemuVmState> Subsections { get; }

        /// <summary>
        /// The value of the named field: a scalar, or an array of the elements' values for an array
        /// field; null when there is no such field. Subsection fields are found as "subsection.field"
        /// (e.g. <c>cpu/async_pf_msr.env.async_pf_en_msr</c>).
        /// </summary>
        public object? GetValue(string name)
        {
            if (name is null)
            {
                throw new ArgumentNullException(nameof(name));
            }

            List<QemuField> matches = Fields.Where(f => f.Name == name).ToList();
            if (matches.Count == 0)
            {
                foreach (QemuVmState sub in Subsections)
                {
                    if (name.StartsWith(sub.Name + ".", StringComparison.Ordinal))
                    {
                        return sub.GetValue(name.Substring(sub.Name.Length + 1));
                    }
                }

                return null;
            }

            return matches.Count == 1 && matches[0].Index is null
                ? matches[0].Value
                : matches.Select(f => f.Value).ToArray();
        }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} v{1}, {2} fields", Name, Version, Fields.Count);
    }

    /// <summary>One field of a VMState description and its value.</summary>
    public sealed class QemuField
    {
        internal QemuField(string name, string type, long offset, int size, int? index, object? value, string text, QemuVmState? structValue)
        {
            Name = name;
            Type = type;
            Offset = offset;
            Size = size;
            Index = index;
            Value = value;
            Text = text;
            Struct = structValue;
        }

        /// <summary>The field name as QEMU's description gives it (duplicates carry a [n] suffix).</summary>
        public string Name { get; }

        /// <summary>QEMU's type name: uint32, int64, bool, timer, buffer, struct, tmp, "int32 le", ...</summary>
        public string Type { get; }

        /// <summary>Byte offset of the field in the input.</summary>
        public long Offset { get; }

        /// <summary>Bytes of the field (of one element, for arrays).</summary>
        public int Size { get; }

        /// <summary>The element's index when the field is an array element; null otherwise.</summary>
        public int? Index { get; }

        /// <summary>
        /// The value: <see cref="ulong"/> for unsigned types, <see cref="long"/> for signed types,
        /// timers and "le" types, <see cref="bool"/> for bool, a hex byte string ("00 1f ...") for
        /// opaque types; null for structs (see <see cref="Struct"/>).
        /// </summary>
        public object? Value { get; }

        /// <summary>The value as QEMU's analyze-migration.py prints it (0x-prefixed, zero-padded hex for integers).</summary>
        public string Text { get; }

        /// <summary>The decoded struct, for struct and tmp fields.</summary>
        public QemuVmState? Struct { get; }

        /// <inheritdoc/>
        public override string ToString() => Index is int i
            ? string.Format(CultureInfo.InvariantCulture, "{0}[{1}] = {2}", Name, i, Text)
            : Name + " = " + Text;
    }
}
