using System;
using System.Buffers.Binary;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.DeviceModel
{
    /// <summary>
    /// Xen's own wrappers of a device model's saved state (docs/formats §4.5, §4.7 step 9): a
    /// signature, a length, then the state (a QEMU stream). <c>DeviceModelRecord0002</c> with a
    /// little-endian u32 length ends legacy HVM images; Xen's converter appends it after the libxc
    /// END of a converted stream in libxc format. The stream reader, the QEMU image opener and the
    /// converter all read and write it here.
    /// </summary>
    internal static class DeviceModelFormat
    {
        /// <summary>The signature of the only device-model record Xen's converter carries over.</summary>
        public const string Signature0002 = "DeviceModelRecord0002";

        /// <summary>Length of the device-model record signatures (all are 21 bytes).</summary>
        public const int SignatureLength = 21;

        /// <summary>Signature plus the u32 length.</summary>
        public const int HeaderSize = SignatureLength + 4;

        /// <summary>Whether <paramref name="head"/> starts with the whole "DeviceModelRecord0002" signature.</summary>
        public static bool Is0002(ReadOnlySpan<byte> head) => FormatDetector.HasAsciiPrefix(head, Signature0002);

        /// <summary>The state length of a DeviceModelRecord0002 header (x86 hosts wrote it little-endian).</summary>
        public static uint LengthOf(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(SignatureLength));

        /// <summary>Encodes the header that precedes <paramref name="stateLength"/> bytes of state.</summary>
        public static byte[] EncodeHeader(uint stateLength) =>
            new ByteBuilder(HeaderSize).Bytes(Encoding.ASCII.GetBytes(Signature0002)).U32(stateLength).ToArray();

        /// <summary>The 21-byte signature at the start of <paramref name="header"/>, printable.</summary>
        public static string SignatureOf(ReadOnlySpan<byte> header)
        {
            var sb = new StringBuilder(SignatureLength);
            foreach (byte b in header.Slice(0, Math.Min(header.Length, SignatureLength)))
            {
                sb.Append(b >= 0x20 && b < 0x7F ? (char)b : '?');
            }

            return sb.ToString();
        }
    }
}
