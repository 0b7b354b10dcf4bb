using System;
using System.Buffers.Binary;
using System.Globalization;
using XenMigration.Libxc;

namespace XenMigration.Legacy
{
    /// <summary>
    /// Guesses the bitness of the toolstack that wrote a legacy stream (docs/formats §4: "ulong" fields are
    /// 4 or 8 bytes and nothing in the stream says which). Each width is tried as a parse of the first
    /// bytes: the PV extended-info marker, or the HVM chunk sequence as far as the probe reaches
    /// (page batches with valid pfn words, known chunk ids, and at the end of the body the HVM tail and
    /// the HVM context's HEADER). A width is chosen only when exactly one of the two parses is
    /// plausible.
    /// </summary>
    internal static class LegacyWidthDetector
    {
        /// <summary>Outcome of the detection.</summary>
        internal sealed class Detection
        {
            internal Detection(int? width, bool plausible32, bool plausible64, string explanation)
            {
                Width = width;
                Plausible32 = plausible32;
                Plausible64 = plausible64;
                Explanation = explanation;
            }

            /// <summary>32 or 64 when exactly one width is plausible; null otherwise.</summary>
            public int? Width { get; }
            /// <summary>Whether the stream parses as written by a 32-bit toolstack.</summary>
            public bool Plausible32 { get; }
            /// <summary>Whether the stream parses as written by a 64-bit toolstack.</summary>
            public bool Plausible64 { get; }
            /// <summary>What was found, for -Verbose and error messages.</summary>
            public string Explanation { get; }
        }

        /// <summary>Detects the width from <paramref name="head"/>, the first bytes of the legacy stream.</summary>
        public static Detection Detect(ReadOnlySpan<byte> head, XenGuestType guest)
        {
            string? why32 = Probe(head, 4, guest);
            string? why64 = Probe(head, 8, guest);
            bool ok32 = why32 is null, ok64 = why64 is null;
            if (ok32 && !ok64)
            {
                return new Detection(32, true, false, "it parses as written by a 32-bit toolstack; as 64-bit " + why64);
            }

            if (ok64 && !ok32)
            {
                return new Detection(64, false, true, "it parses as written by a 64-bit toolstack; as 32-bit " + why32);
            }

            return ok32
                ? new Detection(null, true, true, "its first bytes parse as written by a 32-bit and by a 64-bit toolstack")
                : new Detection(null, false, false, "it parses as neither: as 32-bit " + why32 + "; as 64-bit " + why64);
        }

        // Returns null when the bytes are plausible for this width, else why not.
        private static string? Probe(ReadOnlySpan<byte> head, int w, XenGuestType guest)
        {
            if (head.Length < 2 * w)
            {
                return "the stream is too short";
            }

            ulong p2m = Ulong(head, 0, w);
            if (p2m == 0 || p2m > (1UL << 36))
            {
                return string.Format(CultureInfo.InvariantCulture, "its p2m_size would be 0x{0:x}", p2m);
            }

            int pos = w;
            if (guest == XenGuestType.Pv)
            {
                ulong marker = Ulong(head, pos, w);
                ulong ones = w == 4 ? uint.MaxValue : ulong.MaxValue;
                if (marker != ones)
                {
                    return string.Format(CultureInfo.InvariantCulture, "the extended-info marker would be 0x{0:x}, not all ones", marker);
                }

                if (head.Length >= pos + w + 8)
                {
                    ReadOnlySpan<byte> id = head.Slice(pos + w + 4, 4);
                    if (!(Is(id, "vcpu") || Is(id, "extv") || Is(id, "xcnt")))
                    {
                        return "the first extended-info block would not be vcpu, extv or xcnt";
                    }
                }

                return null;
            }

            for (int steps = 0; steps < 256; steps++)
            {
                if (pos + 4 > head.Length)
                {
                    return null;
                }

                int id = BinaryPrimitives.ReadInt32LittleEndian(head.Slice(pos));
                pos += 4;
                if (id > 0)
                {
                    if (id > LegacyFormat.MaxBatch)
                    {
                        return string.Format(CultureInfo.InvariantCulture, "a page batch at offset {0} would have {1} pages", pos - 4, id);
                    }

                    long pages = 0;
                    for (int i = 0; i < id; i++)
                    {
                        if (pos + w > head.Length)
                        {
                            return null;
                        }

                        ulong word = Ulong(head, pos, w);
                        pos += w;
                        if (w == 8 && word > uint.MaxValue)
                        {
                            return string.Format(CultureInfo.InvariantCulture, "pfn word 0x{0:x} at offset {1} would have bits above 31 set", word, pos - w);
                        }

                        if (LegacyFormat.HasData(word))
                        {
                            pages++;
                        }
                    }

                    long next = pos + (pages * LibxcFormat.PageSize);
                    if (next > head.Length)
                    {
                        return null;
                    }

                    pos = (int)next;
                    continue;
                }

                if (id == 0)
                {
                    return ProbeHvmTail(head, pos);
                }

                int size = ChunkBodySize(head, pos, id);
                if (size < 0)
                {
                    return string.Format(CultureInfo.InvariantCulture, "chunk id {0} at offset {1} is not a legacy chunk", id, pos - 4);
                }

                pos += size;
            }

            return null;
        }

        // After the end-of-body chunk: three u64 magic pfns, the context length, then the context,
        // whose first entry is HEADER (typecode 1, instance 0, length 24, magic 0x54381286).
        private static string? ProbeHvmTail(ReadOnlySpan<byte> head, int pos)
        {
            int ctx = pos + 24 + 4;
            if (ctx + 12 > head.Length)
            {
                return null;
            }

            if (BinaryPrimitives.ReadUInt16LittleEndian(head.Slice(ctx)) != HvmContext.HvmContextFormat.HeaderCode || BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(ctx + 4)) != 24 || BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(ctx + 8)) != HvmContext.HvmContextFormat.HeaderMagic)
            {
                return string.Format(CultureInfo.InvariantCulture, "the body would end at offset {0} but no HVM context HEADER follows the tail", pos - 4);
            }

            return null;
        }

        // Body size of a metadata chunk (after its id), or -1 for an unknown id. Sizes that depend on
        // the data are read when they are within the probe; a chunk running past it ends the probe.
        private static int ChunkBodySize(ReadOnlySpan<byte> head, int pos, int id)
        {
            switch ((LegacyChunk)id)
            {
                case LegacyChunk.EnableVerifyMode:
                case LegacyChunk.LastCheckpoint:
                case LegacyChunk.EnableCompression:
                    return 0;
                case LegacyChunk.TscInfo:
                    return 20;
                case LegacyChunk.VcpuInfo:
                    if (pos + 4 > head.Length)
                    {
                        return head.Length - pos;
                    }

                    int max = BinaryPrimitives.ReadInt32LittleEndian(head.Slice(pos));
                    return max < 0 || max > LegacyFormat.MaxVcpuId ? -1 : 4 + (8 * ((max / 64) + 1));
                case LegacyChunk.Toolstack:
                case LegacyChunk.CompressedData:
                    if (pos + 4 > head.Length)
                    {
                        return head.Length - pos;
                    }

                    uint size = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(pos));
                    return size > (uint)(head.Length - pos - 4) ? head.Length - pos : 4 + (int)size;
                case LegacyChunk.Tmem:
                case LegacyChunk.TmemExtra:
                    return head.Length - pos;
                default:
                    return LegacyFormat.ParamChunks.ContainsKey((LegacyChunk)id) ? 12 : -1;
            }
        }

        private static ulong Ulong(ReadOnlySpan<byte> s, int pos, int w) =>
            w == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(pos)) : BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(pos));

        private static bool Is(ReadOnlySpan<byte> id, string ascii) =>
            id.Length == 4 && id[0] == ascii[0] && id[1] == ascii[1] && id[2] == ascii[2] && id[3] == ascii[3];
    }
}
