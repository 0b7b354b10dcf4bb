using System;
using System.Buffers.Binary;
using System.Globalization;
using XenMigration.Records;

namespace XenMigration.Rewrite
{
    /// <summary>
    /// A record with new contents, made by a Set-* cmdlet from a record of an image: it stands in
    /// the pipeline where the original stood, and Export-XenStream writes its bytes instead of the
    /// original's. The original's place (file, offset, index) is kept so the output can be checked
    /// against the image it came from.
    /// </summary>
    public sealed class XenEditedRecord : XenStreamRecord
    {
        private readonly byte[] _bytes;

        internal XenEditedRecord(XenStreamRecord original, byte[] bytes, string change)
            : base(new RecordContext(null, 0, original.FilePath, original.Offset, original.Index, original.Layer, original.Type, original.TypeCode, original.TypeCode is null ? bytes.Length : Math.Max(0, bytes.Length - 8), -1, 0, null))
        {
            Original = original;
            _bytes = bytes;
            Change = change;
        }

        /// <summary>The record this one replaces.</summary>
        public XenStreamRecord Original { get; }

        /// <summary>What was changed.</summary>
        public string Change { get; }

        /// <summary>The bytes written in place of the original's (header, body, padding).</summary>
        internal ReadOnlySpan<byte> Bytes => _bytes;

        /// <inheritdoc/>
        public override string Summary => "edited: " + Change;

        /// <summary>A framed record (libxl, libxc): u32 type, u32 length, body, zero padding to 8 bytes.</summary>
        internal static byte[] Framed(uint typeCode, ReadOnlySpan<byte> body, bool bigEndian)
        {
            if (body.Length > int.MaxValue - 16)
            {
                throw new ArgumentOutOfRangeException(nameof(body));
            }

            var b = new byte[8 + ((body.Length + 7) & ~7)];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(b, typeCode);
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), (uint)body.Length);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b, typeCode);
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)body.Length);
            }

            body.CopyTo(b.AsSpan(8));
            return b;
        }

        internal static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
