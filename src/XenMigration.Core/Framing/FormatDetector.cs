using System;
using System.Buffers.Binary;
using System.Globalization;

namespace XenMigration.Framing
{
    /// <summary>What the first bytes of an input look like.</summary>
    public enum DetectedFormat
    {
        /// <summary>Nothing recognisable.</summary>
        Unknown = 0,
        /// <summary>The input is empty.</summary>
        Empty,
        /// <summary>An xl save file (<c>xl save</c>, <c>xl migrate</c>): 32-byte magic header.</summary>
        XlSaveFile,
        /// <summary>A bare libxl v2 stream ("LibxlFmt").</summary>
        Libxl,
        /// <summary>A bare libxc/libxenguest v2 or v3 stream (all-ones marker then "XENF").</summary>
        Libxc,
        /// <summary>Probably a legacy (Xen 4.5 and older) libxc stream without header; this is a heuristic.</summary>
        LegacyLibxc,
        /// <summary>A xenstore migration / live-update dump ("xenstore").</summary>
        XenstoreDump,
        /// <summary>A QEMU savevm/migration stream ("QEVM").</summary>
        QemuSavevm,
        /// <summary>A libvirt QEMU save image ("LibvirtQemudSave").</summary>
        LibvirtSave,
        /// <summary>A gzip-compressed file.</summary>
        Gzip,
        /// <summary>An xz-compressed file.</summary>
        Xz,
        /// <summary>A zstd-compressed file.</summary>
        Zstd,
        /// <summary>A bzip2-compressed file.</summary>
        Bzip2,
    }

    /// <summary>Recognises input formats from their first bytes.</summary>
    internal static class FormatDetector
    {
        /// <summary>How many leading bytes <see cref="Detect"/> looks at, at most.</summary>
        public const int ProbeLength = 32;

        /// <summary>The 32-byte magic at the start of every xl save file.</summary>
        public static ReadOnlySpan<byte> XlMagic => new byte[]
        {
            0x58, 0x65, 0x6e, 0x20, 0x73, 0x61, 0x76, 0x65, 0x64, 0x20, 0x64, 0x6f, 0x6d, 0x61, 0x69, 0x6e,
            0x2c, 0x20, 0x78, 0x6c, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x0a, 0x20, 0x00, 0x20, 0x0d,
        };

        /// <summary>
        /// Classifies <paramref name="head"/> (the first up to <see cref="ProbeLength"/> bytes of an input).
        /// Shorter inputs are classified by the prefix they have, so that a truncated header is
        /// reported as a truncated file of the right format rather than as an unknown one.
        /// </summary>
        public static DetectedFormat Detect(ReadOnlySpan<byte> head)
        {
            if (head.Length == 0)
            {
                return DetectedFormat.Empty;
            }

            if (StartsWith(head, XlMagic.Slice(0, 8)))
            {
                return DetectedFormat.XlSaveFile;
            }

            if (StartsWith(head, "LibxlFmt"))
            {
                return DetectedFormat.Libxl;
            }

            if (IsAllOnesPrefix(head))
            {
                return DetectedFormat.Libxc;
            }

            if (StartsWith(head, "xenstore"))
            {
                return DetectedFormat.XenstoreDump;
            }

            if (StartsWith(head, "QEVM"))
            {
                return DetectedFormat.QemuSavevm;
            }

            if (StartsWith(head, "LibvirtQemud"))
            {
                return DetectedFormat.LibvirtSave;
            }

            if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B)
            {
                return DetectedFormat.Gzip;
            }

            if (head.Length >= 6 && head[0] == 0xFD && StartsWith(head.Slice(1), "7zXZ") && head[5] == 0)
            {
                return DetectedFormat.Xz;
            }

            if (head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == 0xFD2FB528)
            {
                return DetectedFormat.Zstd;
            }

            if (head.Length >= 4 && StartsWith(head, "BZh") && head[3] >= (byte)'1' && head[3] <= (byte)'9')
            {
                return DetectedFormat.Bzip2;
            }

            return LooksLikeLegacyLibxc(head) ? DetectedFormat.LegacyLibxc : DetectedFormat.Unknown;
        }

        /// <summary>A human name for messages.</summary>
        public static string Describe(DetectedFormat format) => format switch
        {
            DetectedFormat.Empty => "an empty file",
            DetectedFormat.XlSaveFile => "an xl save file",
            DetectedFormat.Libxl => "a libxl migration stream",
            DetectedFormat.Libxc => "a libxc migration stream",
            DetectedFormat.LegacyLibxc => "a legacy (Xen 4.5 or older) libxc stream",
            DetectedFormat.XenstoreDump => "a xenstore migration dump",
            DetectedFormat.QemuSavevm => "a QEMU savevm/migration stream (QEVM)",
            DetectedFormat.LibvirtSave => "a libvirt QEMU save image",
            DetectedFormat.Gzip => "a gzip-compressed file",
            DetectedFormat.Xz => "an xz-compressed file",
            DetectedFormat.Zstd => "a zstd-compressed file",
            DetectedFormat.Bzip2 => "a bzip2-compressed file",
            _ => "data in no format this module knows",
        };

        /// <summary>
        /// The error for input of <paramref name="format"/> where <paramref name="expected"/> (for
        /// example "a Xen save image") was wanted: it names what was found, or says to decompress.
        /// (The PowerShell layer adds which cmdlet reads the format; Core names no command.) Unknown data is an UnrecognizedFormat error showing its
        /// first bytes and <paramref name="unknownHint"/>.
        /// </summary>
        public static XenFormatException Refuse(DetectedFormat format, ReadOnlySpan<byte> head, long offset, string expected, string? unknownHint = null)
        {
            string described = Describe(format);
            if (format == DetectedFormat.Unknown)
            {
                return new XenFormatException(
                    XenErrorIds.UnrecognizedFormat,
                    string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is not {1} (first bytes: {2}).{3}", offset, expected, Hex(head), unknownHint is null ? string.Empty : " " + unknownHint),
                    offset);
            }

            string message = format is DetectedFormat.Gzip or DetectedFormat.Xz or DetectedFormat.Zstd or DetectedFormat.Bzip2
                ? string.Format(CultureInfo.InvariantCulture, "The input is {0}. Decompress it first ({1} is stored uncompressed).", described, expected)
                : string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is {1}, not {2}.", offset, described, expected);
            return new XenUnsupportedFormatException(format, message, offset);
        }

        /// <summary>Up to 16 bytes as hex, for messages.</summary>
        public static string Hex(ReadOnlySpan<byte> bytes)
        {
            var sb = new System.Text.StringBuilder(bytes.Length * 3);
            for (int i = 0; i < bytes.Length && i < 16; i++)
            {
                if (i > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(bytes[i].ToString("x2", CultureInfo.InvariantCulture));
            }

            if (bytes.Length > 16)
            {
                sb.Append(" ...");
            }

            return sb.ToString();
        }

        // Legacy streams have no magic. The first word is p2m_size at the toolstack's width; what
        // follows is the PV extended-info marker (all-ones) or the first chunk id: a page count
        // 1..1024 or a negative metadata chunk id -1..-20 (docs/formats §4). A plausible p2m_size
        // (non-zero, below 2^36 pages = 256 TiB) plus one of those is a strong hint.
        private static bool LooksLikeLegacyLibxc(ReadOnlySpan<byte> head)
        {
            if (head.Length < 12)
            {
                return false;
            }

            ulong p2m64 = BinaryPrimitives.ReadUInt64LittleEndian(head);
            if (p2m64 != 0 && p2m64 < (1UL << 36))
            {
                if (head.Length >= 16 && BinaryPrimitives.ReadUInt64LittleEndian(head.Slice(8)) == ulong.MaxValue)
                {
                    return true;
                }

                if (IsChunkId(BinaryPrimitives.ReadInt32LittleEndian(head.Slice(8))))
                {
                    return true;
                }
            }

            uint p2m32 = BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (p2m32 != 0)
            {
                uint second = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(4));
                if (second == uint.MaxValue || (second != 0 && IsChunkId(unchecked((int)second))))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsAllOnesPrefix(ReadOnlySpan<byte> head)
        {
            int n = Math.Min(head.Length, 8);
            for (int i = 0; i < n; i++)
            {
                if (head[i] != 0xFF)
                {
                    return false;
                }
            }

            return true;
        }

        private static bool IsChunkId(int id) => (id >= 1 && id <= 1024) || (id <= -1 && id >= -20);

        // An input shorter than a magic matches when it is a prefix of it: the input ended inside
        // the magic, which is a truncated file of that format rather than an unknown one.
        private static bool StartsWith(ReadOnlySpan<byte> data, ReadOnlySpan<byte> prefix)
        {
            int n = Math.Min(data.Length, prefix.Length);
            return data.Slice(0, n).SequenceEqual(prefix.Slice(0, n));
        }

        /// <summary>True when <paramref name="data"/> starts with all of <paramref name="ascii"/> (unlike the detector's own test, a short input does not match).</summary>
        internal static bool HasAsciiPrefix(ReadOnlySpan<byte> data, string ascii) => data.Length >= ascii.Length && StartsWith(data, ascii);

        private static bool StartsWith(ReadOnlySpan<byte> data, string ascii)
        {
            int n = Math.Min(data.Length, ascii.Length);
            for (int i = 0; i < n; i++)
            {
                if (data[i] != (byte)ascii[i])
                {
                    return false;
                }
            }

            return true;
        }
    }
}
