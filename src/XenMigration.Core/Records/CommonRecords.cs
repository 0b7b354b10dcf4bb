using System.Globalization;

namespace XenMigration.Records
{
    /// <summary>
    /// A record with no body of its own: END, LIBXC_CONTEXT, CHECKPOINT_END, VERIFY, CHECKPOINT,
    /// STATIC_DATA_END. (A non-zero <see cref="XenStreamRecord.Length"/> on one of these is a fault
    /// that Test-XenStream reports.)
    /// </summary>
    public sealed class SignalRecord : XenStreamRecord
    {
        internal SignalRecord(in RecordContext context)
            : base(context)
        {
        }
    }

    /// <summary>An optional record (type bit 31 set) of a type this library does not know.</summary>
    public sealed class UnknownRecord : XenStreamRecord
    {
        internal UnknownRecord(in RecordContext context)
            : base(context)
        {
        }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "optional type 0x{0:X8}, {1} bytes", TypeCode, Length);
    }
}
