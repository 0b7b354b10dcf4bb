using System.Globalization;
using System.Text.RegularExpressions;
using XenMigration.Framing;
using XenMigration.Rules;

namespace XenMigration.Xl
{
    /// <summary>The rules xl applies to its save-file header before restoring (docs/formats §1).</summary>
    internal static class XlRules
    {
        // Both patterns must stay linear in the config's length (it comes from the file): no \s
        // that could run across line starts, where every '^' would rescan the rest of the text.
        private static readonly Regex s_maxVcpusJson = new Regex("\"max_vcpus\"[ \t\r\n]*:[ \t\r\n]*([0-9]+)", RegexOptions.CultureInvariant);
        private static readonly Regex s_maxVcpusText = new Regex("^[ \t]*(?:maxvcpus|vcpus)[ \t]*=[ \t]*([0-9]+)", RegexOptions.CultureInvariant | RegexOptions.Multiline);

        public static void Check(XlHeaderRecord xl, IssueList issues)
        {
            if (xl.ByteOrder == ByteOrder.BigEndian)
            {
                issues.Add(XenIssueCodes.XlByteOrder, xl, "the xl header was written by a big-endian host; xl refuses it (\"wrong byte order\")");
            }

            if (xl.UnknownMandatoryFlags != 0)
            {
                issues.Add(XenIssueCodes.XlUnknownMandatoryFlags, xl.Offset + 36, xl, Fmt("mandatory flags 0x{0:x} are not supported by xl (\"need newer xl\")", xl.UnknownMandatoryFlags));
            }

            if (xl.OptionalFlags != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, xl.Offset + 40, xl, Fmt("optional flags are 0x{0:x}; none are defined", xl.OptionalFlags));
            }

            if (xl.Config is null)
            {
                issues.Add(XenIssueCodes.XlConfigMissing, xl, "the xl header carries no domain configuration; xl restore needs one on its command line");
            }
            else if (xl.ConfigFormat == XlConfigFormat.Json && !xl.ConfigIsNulTerminated)
            {
                issues.Add(XenIssueCodes.XlConfigNotTerminated, xl.Offset + 52, xl, "the JSON configuration does not end with the NUL xl writes");
            }

            if (xl.ExtraOptionalDataLength != 0)
            {
                issues.Add(XenIssueCodes.XlExtraOptionalData, xl, Fmt("{0} bytes of optional data follow the configuration; xl ignores them", xl.ExtraOptionalDataLength));
            }
        }

        /// <summary>The domain's max_vcpus from the embedded config (JSON or xl text), when it says.</summary>
        public static int? MaxVcpus(XlHeaderRecord xl)
        {
            if (xl.Config is null)
            {
                return null;
            }

            Match m = xl.ConfigFormat == XlConfigFormat.Json ? s_maxVcpusJson.Match(xl.Config) : s_maxVcpusText.Match(xl.Config);
            return m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int max) && max > 0 ? max : null;
        }

        private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
