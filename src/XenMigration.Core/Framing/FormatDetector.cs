using System;
using System.Collections.Generic;
using System.Globalization;

namespace XenMigration.Framing
{
    /// <summary>Tests whether the first bytes of an input are of one format.</summary>
    internal delegate bool FormatProbe(ReadOnlySpan<byte> head);

    /// <summary>
    /// Recognises input formats from their first bytes. It knows no format itself: each format's
    /// folder provides a probe and a name, and the module registers them once at load
    /// (Images/FormatRegistry), in the order they are tried. This is the seam through which a new
    /// format or container becomes known to every reader that detects or refuses inputs.
    /// </summary>
    internal static class FormatDetector
    {
        /// <summary>How many leading bytes a probe is given, at most.</summary>
        public const int ProbeLength = 32;

        private static readonly List<(DetectedFormat Format, FormatProbe Probe)> s_probes = new List<(DetectedFormat, FormatProbe)>();
        private static readonly Dictionary<DetectedFormat, (string Description, bool Compressed)> s_names = new Dictionary<DetectedFormat, (string, bool)>();

        /// <summary>
        /// Adds a format: <paramref name="probe"/> is tried after those registered before it.
        /// <paramref name="compressed"/> marks a compressor (the refusal then says to decompress).
        /// </summary>
        public static void Register(DetectedFormat format, string description, FormatProbe probe, bool compressed = false)
        {
            lock (s_probes)
            {
                s_probes.Add((format, probe));
                s_names[format] = (description, compressed);
            }
        }

        /// <summary>
        /// Classifies <paramref name="head"/> (the first up to <see cref="ProbeLength"/> bytes of an input).
        /// Probes classify shorter inputs by the prefix they have, so that a truncated header is
        /// reported as a truncated file of the right format rather than as an unknown one.
        /// </summary>
        public static DetectedFormat Detect(ReadOnlySpan<byte> head)
        {
            if (head.Length == 0)
            {
                return DetectedFormat.Empty;
            }

            foreach ((DetectedFormat format, FormatProbe probe) in s_probes)
            {
                if (probe(head))
                {
                    return format;
                }
            }

            return DetectedFormat.Unknown;
        }

        /// <summary>A human name for messages ("an xl save file").</summary>
        public static string Describe(DetectedFormat format) => format switch
        {
            DetectedFormat.Empty => "an empty file",
            _ => s_names.TryGetValue(format, out var n) ? n.Description : "data in no format this module knows",
        };

        /// <summary>Whether <paramref name="format"/> is a compressor's output.</summary>
        public static bool IsCompressed(DetectedFormat format) => s_names.TryGetValue(format, out var n) && n.Compressed;

        /// <summary>
        /// The error for input of <paramref name="format"/> where <paramref name="expected"/> (for
        /// example "a Xen save image") was wanted: it names what was found, or says to decompress.
        /// (The PowerShell layer adds which cmdlet reads the format; Core names no command.) Unknown
        /// data is an UnrecognizedFormat error showing its first bytes and <paramref name="unknownHint"/>.
        /// </summary>
        public static XenFormatException Refuse(DetectedFormat format, ReadOnlySpan<byte> head, long offset, string expected, string? unknownHint = null)
        {
            string described = Describe(format);
            if (format == DetectedFormat.Unknown)
            {
                return new XenFormatException(
                    XenErrorIds.UnrecognizedFormat,
                    string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is not {1} (first bytes: {2}).{3}", offset, expected, HexText.Of(head), unknownHint is null ? string.Empty : " " + unknownHint),
                    offset);
            }

            string message = IsCompressed(format)
                ? string.Format(CultureInfo.InvariantCulture, "The input is {0}. Decompress it first ({1} is stored uncompressed).", described, expected)
                : string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is {1}, not {2}.", offset, described, expected);
            return new XenUnsupportedFormatException(format, message, offset);
        }

        /// <summary>
        /// For probes: whether <paramref name="data"/> starts with <paramref name="prefix"/>, where an
        /// input shorter than the magic matches when it is a prefix of it (the input ended inside the
        /// magic: a truncated file of that format rather than an unknown one).
        /// </summary>
        public static bool MatchesMagic(ReadOnlySpan<byte> data, ReadOnlySpan<byte> prefix)
        {
            int n = Math.Min(data.Length, prefix.Length);
            return data.Slice(0, n).SequenceEqual(prefix.Slice(0, n));
        }

        /// <summary>For probes: <see cref="MatchesMagic(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> with an ASCII magic.</summary>
        public static bool MatchesMagic(ReadOnlySpan<byte> data, string ascii)
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

        /// <summary>True when <paramref name="data"/> starts with all of <paramref name="ascii"/> (unlike <see cref="MatchesMagic(ReadOnlySpan{byte}, string)"/>, a short input does not match).</summary>
        public static bool HasAsciiPrefix(ReadOnlySpan<byte> data, string ascii) => data.Length >= ascii.Length && MatchesMagic(data, ascii);
    }

    /// <summary>Bytes as hex for messages.</summary>
    internal static class HexText
    {
        /// <summary>Up to 16 bytes as "00 01 ..." (then " ...").</summary>
        public static string Of(ReadOnlySpan<byte> bytes)
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
    }
}
