using System;
using System.Globalization;
using XenMigration.DeviceModel;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Xl;

namespace XenMigration.Legacy
{
    /// <content>The toolstack wrappers around legacy streams: xend's image and the classic XenServer image.</content>
    internal static partial class LegacyStreamConverter
    {
        private sealed partial class Conversion
        {
            // The toolstack wrappers whose legacy stream this converter reads (docs/formats/containers.md):
            // xend's image gives its config, as xl config text in a new xl header; the classic
            // XenServer image has only its signature.
            private byte[]? ReadToolstackHeader()
            {
                ReadOnlySpan<byte> head = _in.Peek(FormatDetector.ProbeLength);
                DetectedFormat format = FormatDetector.Detect(head);
                if (format == DetectedFormat.XenServerLegacySuspend)
                {
                    Bytes(XenServer.XenServerFormat.LegacySignature.Length, "the XenServer signature");
                    Log("Skipped the classic XenServer signature");
                    _wrapper = format;
                    return null;
                }

                if (format != DetectedFormat.XendSave)
                {
                    return null;
                }

                long at = _in.Position;
                int length = Xend.XendFormat.ConfigLength(Bytes(Xend.XendFormat.HeaderSize, "the xend header"), out string? error);
                if (error is not null)
                {
                    throw Invalid("the xend image's " + error, at + 16);
                }

                string sxp = System.Text.Encoding.UTF8.GetString(_f.Array(length, "the xend domain config"));
                Xend.XendDomainConfig config = Xend.XendDomainConfig.Parse(sxp) ?? throw Invalid("the xend image's domain config is not a (domain ...) S-expression", at + Xend.XendFormat.HeaderSize);
                if (_guest == XenGuestType.Reserved && config.GuestType is string t)
                {
                    _guest = t == "hvm" ? XenGuestType.Hvm : XenGuestType.Pv;
                    _pv = _guest == XenGuestType.Pv;
                    Log("Guest type from the xend config: " + t);
                }

                _wrapper = format;
                _result.ConvertedConfig = config.ToXlText();
                Log(string.Format(CultureInfo.InvariantCulture, "Read the xend config of '{0}' ({1} bytes of SXP); written as xl config text", config.Name, length));
                uint flags = _options.Format == LegacyOutputFormat.Libxc ? 0u : (uint)XlMandatoryFlags.StreamV2;
                return XlFormat.Encode(flags, System.Text.Encoding.UTF8.GetBytes(_result.ConvertedConfig + "\0"));
            }

            private DetectedFormat _wrapper;

            private const string QemuTraditionalSignature = "QemuDeviceModelRecord";

            // qemu-dm's state after "QemuDeviceModelRecord": the classic XenServer image puts "\n" and a
            // big-endian u32 length first (xenopsd's suspend_image.ml); xend writes the state to the end
            // of the file (XendCheckpoint.py), so its length is what the file has left.
            private void CopyQemuTraditional(long at)
            {
                long size;
                if (_wrapper == DetectedFormat.XenServerLegacySuspend)
                {
                    if (Bytes(1, "the QEMU record's newline")[0] != (byte)'\n')
                    {
                        throw Invalid("the classic XenServer QEMU record signature is not \"QemuDeviceModelRecord\\n\"", at);
                    }

                    size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(Bytes(4, "the QEMU state length"));
                }
                else
                {
                    size = _in.RemainingAtLeast(long.MaxValue);
                    if (size < 0)
                    {
                        throw new XenFormatException(XenErrorIds.NeedsSeekableInput, "A xend image's QEMU state runs to the end of the file, so its length is only known in a file: convert the image from a file, not a pipe.", at);
                    }
                }

                Log(string.Format(CultureInfo.InvariantCulture, "qemu-dm (traditional) state: 0x{0:x} bytes", size));
                _result.QemuStateLength = size;
                if (_libxl)
                {
                    CopyRecord(LibxlFormat.EmulatorContext, LibxlFormat.EncodeEmulatorHeader(EmulatorKind.QemuTraditional, 0), size, "the device-model state");
                    return;
                }

                if (size > LibxcFormat.MaxRecordLength)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "{0} bytes of device-model state exceed the 128 MiB limit", size), at);
                }

                _out.WriteRaw(DeviceModelFormat.EncodeHeader((uint)size));
                CopyRaw(size, "the device-model state", null);
            }
        }
    }
}
