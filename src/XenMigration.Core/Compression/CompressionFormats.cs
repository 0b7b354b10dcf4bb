using System;
using System.Buffers.Binary;
using XenMigration.Framing;

namespace XenMigration.Compression
{
    /// <summary>The magic numbers of the compressors that wrap saved images (gzip, xz, zstd, bzip2).</summary>
    internal static class CompressionFormats
    {
        /// <summary>gzip: 1f 8b.</summary>
        public static bool ProbeGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B;

        /// <summary>xz: fd "7zXZ" 00.</summary>
        public static bool ProbeXz(ReadOnlySpan<byte> head) => head.Length >= 6 && head[0] == 0xFD && FormatDetector.HasAsciiPrefix(head.Slice(1), "7zXZ") && head[5] == 0;

        /// <summary>zstd: the frame magic 0xFD2FB528, little-endian.</summary>
        public static bool ProbeZstd(ReadOnlySpan<byte> head) => head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == 0xFD2FB528;

        /// <summary>bzip2: "BZh" and a block-size digit.</summary>
        public static bool ProbeBzip2(ReadOnlySpan<byte> head) => head.Length >= 4 && FormatDetector.HasAsciiPrefix(head, "BZh") && head[3] >= (byte)'1' && head[3] <= (byte)'9';
    }
}
