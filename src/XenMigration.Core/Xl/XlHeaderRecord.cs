using System;
using System.Globalization;
using System.Text;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Xl
{
    /// <summary>Mandatory flags of the xl save-file header (docs/formats §1.2).</summary>
    [Flags]
    public enum XlMandatoryFlags : uint
    {
        /// <summary>No flag.</summary>
        None = 0,
        /// <summary>The config in the optional data is libxl JSON (else xl config-file text).</summary>
        Json = 0x1,
        /// <summary>A libxl v2 stream follows; without it the payload is a legacy stream.</summary>
        StreamV2 = 0x2,
    }

    /// <summary>How the domain configuration in an xl header is encoded.</summary>
    public enum XlConfigFormat
    {
        /// <summary>The header carries no configuration.</summary>
        None,
        /// <summary>libxl domain-configuration JSON.</summary>
        Json,
        /// <summary>xl config-file text.</summary>
        Text,
    }

    /// <summary>The xl save-file header and its optional data (docs/formats §1).</summary>
    public sealed class XlHeaderRecord : XenStreamRecord
    {
        internal XlHeaderRecord(in RecordContext context, ByteOrder byteOrder, uint mandatoryFlags, uint optionalFlags, uint optionalDataLength, uint? configLength, byte[]? config)
            : base(context)
        {
            ByteOrder = byteOrder;
            MandatoryFlags = (XlMandatoryFlags)mandatoryFlags;
            OptionalFlags = optionalFlags;
            OptionalDataLength = optionalDataLength;
            ConfigLength = configLength;
            if (config is not null)
            {
                int n = config.Length;
                ConfigIsNulTerminated = n > 0 && config[n - 1] == 0;
                while (n > 0 && config[n - 1] == 0)
                {
                    n--;
                }

                Config = Encoding.UTF8.GetString(config, 0, n);
                ConfigFormat = (mandatoryFlags & (uint)XlMandatoryFlags.Json) != 0 ? XlConfigFormat.Json : XlConfigFormat.Text;
            }

            ExtraOptionalDataLength = optionalDataLength - (configLength is uint c ? 4u + c : 0u);
        }

        /// <summary>Byte order of the saving host.</summary>
        public ByteOrder ByteOrder { get; }

        /// <summary>Mandatory flags, unknown bits included.</summary>
        public XlMandatoryFlags MandatoryFlags { get; }

        /// <summary>Mandatory flag bits that xl does not know (xl refuses to restore when any is set).</summary>
        public uint UnknownMandatoryFlags => (uint)MandatoryFlags & ~XlFormat.KnownMandatoryFlags;

        /// <summary>Optional flags (none are defined; xl writes 0 and never reads them).</summary>
        public uint OptionalFlags { get; }

        /// <summary>Bytes of optional data after the 48-byte header.</summary>
        public uint OptionalDataLength { get; }

        /// <summary>The config length field, when the optional data has one.</summary>
        public uint? ConfigLength { get; }

        /// <summary>The configuration text (JSON or xl config), trailing NULs removed; null when absent.</summary>
        public string? Config { get; }

        /// <summary>How <see cref="Config"/> is encoded.</summary>
        public XlConfigFormat ConfigFormat { get; }

        /// <summary>Whether the config bytes end in a NUL (xl writes JSON with one).</summary>
        public bool ConfigIsNulTerminated { get; }

        /// <summary>Optional-data bytes after the config, which xl ignores.</summary>
        public uint ExtraOptionalDataLength { get; }

        /// <summary>True when a libxl v2 stream follows (else a legacy stream).</summary>
        public bool IsStreamV2 => (MandatoryFlags & XlMandatoryFlags.StreamV2) != 0;

        /// <inheritdoc/>
        public override string Summary => string.Format(
            CultureInfo.InvariantCulture,
            "{0}{1}, {2}",
            IsStreamV2 ? "STREAMv2" : "legacy stream",
            ByteOrder == ByteOrder.BigEndian ? ", big-endian" : string.Empty,
            Config is null ? "no config" : string.Format(CultureInfo.InvariantCulture, "{0} config {1} bytes", ConfigFormat == XlConfigFormat.Json ? "JSON" : "text", ConfigLength));
    }
}
