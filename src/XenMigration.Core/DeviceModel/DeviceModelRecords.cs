using System.Globalization;
using XenMigration.Records;

namespace XenMigration.DeviceModel
{
    /// <summary>
    /// The raw legacy device-model record that Xen's converter appends after the libxc END when it
    /// writes an HVM stream in libxc format (docs/formats §4.7 step 9).
    /// </summary>
    public sealed class LegacyDeviceModelRecord : XenStreamRecord
    {
        internal LegacyDeviceModelRecord(in RecordContext context, string signature)
            : base(context) => Signature = signature;

        /// <summary>The 21-byte signature ("DeviceModelRecord0002").</summary>
        public string Signature { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0}, {1} bytes of QEMU state", Signature, PayloadLength);
    }
}
