using System;
using System.Buffers.Binary;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libxl
{
    /// <summary>
    /// Decodes the bodies of the libxl record types that carry data (docs/formats §2): emulator xenstore
    /// data and context, checkpoint state. The stream reader keeps the layering (END, LIBXC_CONTEXT,
    /// CHECKPOINT_END) and hands every other libxl record here.
    /// </summary>
    internal static class LibxlRecordDecoder
    {
        /// <summary>Decodes and checks the 16-byte libxl header (§2.1); refusals go through <paramref name="error"/>.</summary>
        public static LibxlHeaderRecord DecodeHeader(ReadOnlySpan<byte> span, in RecordContext context, Func<string, string, Exception> error)
        {
            var r = new SpanReader(span, bigEndian: true);
            ulong ident = r.U64();
            uint version = r.U32();
            uint options = r.U32();
            if (ident != LibxlFormat.Ident)
            {
                throw error(XenErrorIds.InvalidHeader, "the ident is " + HexText.Of(span.Slice(0, 8)) + ", not \"LibxlFmt\"");
            }

            if (version != LibxlFormat.Version)
            {
                throw error(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "libxl stream version {0} is not supported (only version 2 exists)", version));
            }

            return new LibxlHeaderRecord(context, ident, version, options);
        }

        /// <summary>The decoded record, or null for a type this decoder does not know.</summary>
        public static XenStreamRecord? Decode(RecordFrame frame, XenRecordType type, IRecordDecoding d)
        {
            switch (frame.Type)
            {
                case LibxlFormat.EmulatorXenstoreData:
                    return ReadXenstoreData(frame, d);
                case LibxlFormat.EmulatorContext:
                {
                    ReadOnlySpan<byte> sub = d.Frames.ReadFixed(LibxlFormat.EmulatorHeaderSize, "the emulator sub-header");
                    var r = new SpanReader(sub);
                    uint id = r.U32();
                    uint index = r.U32();
                    ReadOnlySpan<byte> magic = d.Source.Peek((int)Math.Min(4, d.Frames.BodyRemaining));
                    bool qemu = magic.Length == 4 && magic[0] == (byte)'Q' && magic[1] == (byte)'E' && magic[2] == (byte)'V' && magic[3] == (byte)'M';
                    return new EmulatorContextRecord(d.Payload(frame, XenLayer.Libxl, type), id, index, qemu);
                }

                case LibxlFormat.CheckpointState:
                {
                    uint? control = null;
                    if (frame.Length >= 4)
                    {
                        control = BinaryPrimitives.ReadUInt32LittleEndian(d.Frames.ReadFixed(4, "the control id"));
                    }

                    return new CheckpointStateRecord(d.Decoded(frame, XenLayer.Libxl, type), control);
                }

                default:
                    return null;
            }
        }

        private static XenStreamRecord ReadXenstoreData(RecordFrame frame, IRecordDecoding d)
        {
            ReadOnlySpan<byte> sub = d.Frames.ReadFixed(LibxlFormat.EmulatorHeaderSize, "the emulator sub-header");
            var r = new SpanReader(sub);
            uint id = r.U32();
            uint index = r.U32();
            var decoder = new XenstoreDataDecoder(Limits.MaxRetainedEntries);
            byte[] chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                int n;
                while ((n = d.Frames.ReadBody(chunk, 0, chunk.Length)) > 0)
                {
                    decoder.Feed(new ReadOnlySpan<byte>(chunk, 0, n));
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
            }

            decoder.Complete();
            return new EmulatorXenstoreDataRecord(d.Decoded(frame, XenLayer.Libxl, XenRecordType.EmulatorXenstoreData), id, index, decoder);
        }

    }
}
