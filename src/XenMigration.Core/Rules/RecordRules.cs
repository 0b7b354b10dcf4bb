using System.Globalization;
using XenMigration.Records;

namespace XenMigration.Rules
{
    /// <summary>Rules that every layer's records share.</summary>
    internal static class RecordRules
    {
        /// <summary>Signal records (END, LIBXC_CONTEXT, CHECKPOINT, ...) have empty bodies.</summary>
        public static void MustBeEmpty(XenStreamRecord r, IssueList issues)
        {
            if (r.Length != 0)
            {
                issues.Add(XenIssueCodes.RecordLength, r, string.Format(CultureInfo.InvariantCulture, "{0} {1} has a {2}-byte body; it must be empty", r.Layer, r.Type, r.Length));
            }
        }

        /// <summary>Padding after a record's body is zero (the C readers ignore it; the spec and Xen's python verifier do not).</summary>
        public static void CheckPadding(XenStreamRecord? r, IssueList issues)
        {
            if (r is { PaddingIsZero: false } p)
            {
                issues.Add(XenIssueCodes.NonZeroPadding, p.Offset + 8 + p.Length, p, "padding bytes after the body are not zero (the C readers ignore them; the spec and Xen's python verifier require zeros)");
            }
        }
    }
}
