using System;
using System.Globalization;
using XenMigration.Records;

namespace XenMigration.DeviceModel
{
    /// <summary>Reads the device-model records that may follow a Xen stream.</summary>
    internal static class DeviceModelDecoder
    {
        /// <summary>
        /// After a bare libxc stream's END: the DeviceModelRecord0002 that Xen's converter appends (libxc
        /// format, HVM, without --skip-qemu), its state left unread as the record's payload. Null
        /// when something else (trailing data, or nothing) follows.
        /// </summary>
        public static LegacyDeviceModelRecord? ReadTrailer(IRecordDecoding d)
        {
            ReadOnlySpan<byte> head = d.Source.Peek(DeviceModelFormat.HeaderSize);
            if (head.Length < DeviceModelFormat.HeaderSize || !DeviceModelFormat.Is0002(head))
            {
                return null;
            }

            long offset = d.Source.Position;
            uint length = DeviceModelFormat.LengthOf(head);
            const string Name = nameof(XenRecordType.LegacyDeviceModel);
            if (length > d.Frames.MaxLength)
            {
                throw d.HeaderError(XenErrorIds.RecordTooLarge, Name, offset, string.Format(CultureInfo.InvariantCulture, "it declares {0} bytes of QEMU state, more than the {1}-byte limit", length, d.Frames.MaxLength));
            }

            d.Source.Skip(DeviceModelFormat.HeaderSize);
            d.RequireRemaining(length, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of QEMU state", length));
            return new LegacyDeviceModelRecord(d.Unframed(offset, XenLayer.Libxc, XenRecordType.LegacyDeviceModel, null, DeviceModelFormat.HeaderSize, length), DeviceModelFormat.Signature0002);
        }
    }
}
