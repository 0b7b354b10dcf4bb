using System;
using System.Buffers.Binary;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.Xl
{
    /// <summary>
    /// The one decoder of the xl save-file header (docs/formats §1), used by the stream reader and the
    /// legacy converter: magic, byte order (either), flags, the optional-data length and its cap, and
    /// the config inside the optional data. Callers turn a refusal into their own exception (their
    /// offset and record naming) through <c>error(errorId, detail)</c>.
    /// </summary>
    internal static class XlHeaderDecoder
    {
        internal readonly struct FixedPart
        {
            public FixedPart(ByteOrder order, uint mandatory, uint optional, uint optionalLength)
            {
                Order = order;
                MandatoryFlags = mandatory;
                OptionalFlags = optional;
                OptionalLength = optionalLength;
            }

            public ByteOrder Order { get; }

            public bool BigEndian => Order == ByteOrder.BigEndian;

            public uint MandatoryFlags { get; }

            public uint OptionalFlags { get; }

            public uint OptionalLength { get; }
        }

        /// <summary>Decodes the 48 fixed bytes.</summary>
        public static FixedPart DecodeFixed(ReadOnlySpan<byte> fixedPart, Func<string, string, Exception> error)
        {
            if (!fixedPart.Slice(0, 32).SequenceEqual(XlFormat.Magic))
            {
                throw error(XenErrorIds.InvalidHeader, "the 32-byte xl magic is wrong (" + HexText.Of(fixedPart.Slice(0, 32)) + ")");
            }

            ByteOrder order;
            if (BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.Slice(32)) == XlFormat.ByteOrderMarker)
            {
                order = ByteOrder.LittleEndian;
            }
            else if (BinaryPrimitives.ReadUInt32BigEndian(fixedPart.Slice(32)) == XlFormat.ByteOrderMarker)
            {
                order = ByteOrder.BigEndian;
            }
            else
            {
                throw error(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "the byte-order field is {0}, not 0x01020304 in either byte order", HexText.Of(fixedPart.Slice(32, 4))));
            }

            var fields = new SpanReader(fixedPart.Slice(36), order == ByteOrder.BigEndian);
            uint mandatory = fields.U32();
            uint optional = fields.U32();
            uint optionalLength = fields.U32();
            if (optionalLength > XlFormat.MaxOptionalDataLength)
            {
                throw error(XenErrorIds.RecordTooLarge, string.Format(CultureInfo.InvariantCulture, "it declares {0} bytes of optional data, more than the {1}-byte limit", optionalLength, XlFormat.MaxOptionalDataLength));
            }

            return new FixedPart(order, mandatory, optional, optionalLength);
        }

        /// <summary>The config length and bytes inside the optional data (null when there is none).</summary>
        public static (uint? Length, byte[]? Config) DecodeOptional(ReadOnlySpan<byte> optionalData, bool bigEndian, Func<string, string, Exception> error)
        {
            if (optionalData.Length == 0)
            {
                return (null, null);
            }

            if (optionalData.Length < 4)
            {
                throw error(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "its {0} bytes of optional data are too few for the 4-byte config length (xl: \"Savefile truncated\")", optionalData.Length));
            }

            var opt = new SpanReader(optionalData, bigEndian);
            uint configLength = opt.U32();
            if (configLength > (uint)opt.Remaining)
            {
                throw error(XenErrorIds.InvalidHeader, string.Format(CultureInfo.InvariantCulture, "its config length {0} exceeds the {1} bytes of optional data after it (xl: \"Savefile truncated\")", configLength, opt.Remaining));
            }

            return (configLength, configLength > 0 ? opt.Bytes((int)configLength).ToArray() : null);
        }
    }
}
