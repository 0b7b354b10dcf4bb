using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libxl
{
    /// <summary>The libxl stream header (docs/formats §2.1).</summary>
    public sealed class LibxlHeaderRecord : XenStreamRecord
    {
        internal LibxlHeaderRecord(in RecordContext context, ulong ident, uint version, uint options)
            : base(context)
        {
            Ident = ident;
            Version = version;
            Options = options;
        }

        /// <summary>The ident field ("LibxlFmt").</summary>
        public ulong Ident { get; }

        /// <summary>Stream version (2).</summary>
        public uint Version { get; }

        /// <summary>Raw options word.</summary>
        public uint Options { get; }

        /// <summary>Options bit 0: the records are big-endian (Xen refuses these).</summary>
        public bool IsBigEndian => (Options & LibxlFormat.OptionBigEndian) != 0;

        /// <summary>Options bit 1: written by the legacy-stream converter.</summary>
        public bool IsLegacyConverted => (Options & LibxlFormat.OptionLegacy) != 0;

        /// <summary>Options bits 2-31, reserved (must be zero).</summary>
        public uint ReservedOptions => Options & ~(LibxlFormat.OptionBigEndian | LibxlFormat.OptionLegacy);

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "v{0}, {1}-endian{2}", Version, IsBigEndian ? "big" : "little", IsLegacyConverted ? ", legacy converted" : string.Empty);
    }

    /// <summary>One key/value pair of an EMULATOR_XENSTORE_DATA record.</summary>
    public sealed class XenstoreKeyValue
    {
        /// <summary>Creates a pair.</summary>
        public XenstoreKeyValue(string key, string value)
        {
            Key = key;
            Value = value;
        }

        /// <summary>Key, relative to the device model's xenstore directory.</summary>
        public string Key { get; }

        /// <summary>Value text.</summary>
        public string Value { get; }

        /// <inheritdoc/>
        public override string ToString() => Key + "=" + Value;
    }

    /// <summary>EMULATOR_XENSTORE_DATA (0x2): xenstore entries for the device model.</summary>
    public sealed class EmulatorXenstoreDataRecord : XenStreamRecord
    {
        internal EmulatorXenstoreDataRecord(in RecordContext context, uint emulatorId, uint emulatorIndex, XenstoreDataDecoder decoded)
            : base(context)
        {
            EmulatorId = (EmulatorKind)emulatorId;
            EmulatorIndex = emulatorIndex;
            Entries = decoded.Kept;
            EntryCount = decoded.PairCount;
            IsNulTerminated = decoded.IsNulTerminated;
            UnkeptBadKeys = decoded.UnkeptBadKeys;
            UnkeptOddKeys = decoded.UnkeptOddKeys;
            UnkeptBadValues = decoded.UnkeptBadValues;
        }

        /// <summary>Number of key/value pairs in the record.</summary>
        public long EntryCount { get; }

        /// <inheritdoc/>
        public override bool EntriesTruncated => Entries.Count < EntryCount;

        // Pairs not kept in Entries with a bad key or value, by body offset (for the verifier).
        internal EntryTally UnkeptBadKeys { get; }

        internal EntryTally UnkeptOddKeys { get; }

        internal EntryTally UnkeptBadValues { get; }

        /// <summary>Which emulator the data is for.</summary>
        public EmulatorKind EmulatorId { get; }

        /// <summary>Which emulator instance of the domain (libxl always writes 0).</summary>
        public uint EmulatorIndex { get; }

        /// <summary>The key/value pairs, in stream order (the first 65,536 when <see cref="XenStreamRecord.EntriesTruncated"/>).</summary>
        public IReadOnlyList<XenstoreKeyValue> Entries { get; }

        /// <summary>Whether every key and value is NUL-terminated (libxl refuses the record otherwise).</summary>
        public bool IsNulTerminated { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}[{1}], {2} entries", EmulatorId, EmulatorIndex, EntryCount);
    }

    /// <summary>EMULATOR_CONTEXT (0x3): the device model's saved state (a QEMU stream for QEMU upstream).</summary>
    public sealed class EmulatorContextRecord : XenStreamRecord
    {
        internal EmulatorContextRecord(in RecordContext context, uint emulatorId, uint emulatorIndex, bool isQemuStream)
            : base(context)
        {
            EmulatorId = (EmulatorKind)emulatorId;
            EmulatorIndex = emulatorIndex;
            IsQemuStream = isQemuStream;
        }

        /// <summary>Which emulator the state is for.</summary>
        public EmulatorKind EmulatorId { get; }

        /// <summary>Which emulator instance of the domain.</summary>
        public uint EmulatorIndex { get; }

        /// <summary>True when the payload starts with the QEMU migration-stream magic "QEVM".</summary>
        public bool IsQemuStream { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}[{1}], {2} bytes of {3}", EmulatorId, EmulatorIndex, PayloadLength, IsQemuStream ? "QEMU state" : "device-model state");
    }

    /// <summary>CHECKPOINT_STATE (0x5): COLO control message.</summary>
    public sealed class CheckpointStateRecord : XenStreamRecord
    {
        internal CheckpointStateRecord(in RecordContext context, uint? controlId)
            : base(context)
        {
            ControlId = controlId is uint id ? (CheckpointControl?)id : null;
        }

        /// <summary>The control id; null when the body is shorter than 4 bytes.</summary>
        public CheckpointControl? ControlId { get; }

        /// <inheritdoc/>
        public override string Summary => ControlId?.ToString() ?? "(no control id)";
    }
}
