using System;
using XenMigration.Framing;

namespace XenMigration.Xl
{
    /// <summary>Constants and the encoder of the xl save-file header (docs/formats §1).</summary>
    internal static class XlFormat
    {
        /// <summary>The 32-byte magic at the start of every xl save file ("Xen saved domain, xl format\n \0 \r").</summary>
        public static ReadOnlySpan<byte> Magic => new byte[]
        {
            0x58, 0x65, 0x6e, 0x20, 0x73, 0x61, 0x76, 0x65, 0x64, 0x20, 0x64, 0x6f, 0x6d, 0x61, 0x69, 0x6e,
            0x2c, 0x20, 0x78, 0x6c, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x0a, 0x20, 0x00, 0x20, 0x0d,
        };

        /// <summary>Whether an input starts like an xl save file (its first 8 bytes, or a prefix of them).</summary>
        internal static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, Magic.Slice(0, 8));

        /// <summary>Size of the fixed header (magic + four u32s).</summary>
        public const int HeaderSize = 48;

        /// <summary>The byteorder field's value in the writer's native order.</summary>
        public const uint ByteOrderMarker = 0x01020304;

        /// <summary>Mandatory flags xl knows: JSON | STREAMv2.</summary>
        public const uint KnownMandatoryFlags = 0x3;

        /// <summary>
        /// Optional data larger than this is refused before it is read. xl has no cap; real configs
        /// are a few KiB, so 16 MiB leaves room while bounding what a hostile header can make us
        /// allocate.
        /// </summary>
        public const int MaxOptionalDataLength = Limits.MaxXlOptionalData;

        /// <summary>
        /// Encodes a header the way xl does: the 4-byte config length is always present, JSON config
        /// gets a trailing NUL. <paramref name="config"/> null writes a zero-length config.
        /// </summary>
        internal static byte[] Encode(XlMandatoryFlags flags, string? config, bool bigEndian = false, uint optionalFlags = 0)
        {
            byte[] configBytes = config is null
                ? Array.Empty<byte>()
                : new ByteBuilder().Text(config, nulTerminate: (flags & XlMandatoryFlags.Json) != 0).ToArray();
            return Encode((uint)flags, configBytes, bigEndian, optionalFlags);
        }

        /// <summary>Encodes a header with raw config bytes (written exactly as given).</summary>
        internal static byte[] Encode(uint mandatoryFlags, ReadOnlySpan<byte> configBytes, bool bigEndian = false, uint optionalFlags = 0)
        {
            var b = new ByteBuilder(HeaderSize + 4 + configBytes.Length, bigEndian);
            b.Bytes(Magic);
            b.U32(ByteOrderMarker).U32(mandatoryFlags).U32(optionalFlags).U32(checked(4u + (uint)configBytes.Length));
            b.U32((uint)configBytes.Length).Bytes(configBytes);
            return b.ToArray();
        }
    }
}
