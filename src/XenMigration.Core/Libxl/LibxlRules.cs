using System.Globalization;
using XenMigration.Records;
using XenMigration.Rules;
using XenMigration.Xenstore;

namespace XenMigration.Libxl
{
    /// <summary>The rules libxl applies to each record of its stream when restoring (docs/formats §2).</summary>
    internal static class LibxlRules
    {
        public static void CheckHeader(LibxlHeaderRecord h, IssueList issues)
        {
            if (h.ReservedOptions != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, h.Offset + 12, h, Fmt("reserved option bits 0x{0:x} are set (Xen's python verifier rejects bits 2-15)", h.ReservedOptions));
            }
        }

        public static void CheckEmulatorId(XenStreamRecord r, EmulatorKind id, IssueList issues)
        {
            if ((uint)id > 2)
            {
                issues.Add(XenIssueCodes.EmulatorId, r.Offset + 8, r, Fmt("emulator id {0} is not 0 (unknown), 1 (QEMU traditional) or 2 (QEMU upstream)", (uint)id));
            }
            else if (id == EmulatorKind.QemuTraditional)
            {
                issues.Add(XenIssueCodes.EmulatorTraditional, r.Offset + 8, r, "emulator id 1 is QEMU traditional, which Xen 4.21 no longer supports");
            }
        }

        public static void CheckXenstoreData(EmulatorXenstoreDataRecord xs, IssueList issues)
        {
            if (!xs.IsNulTerminated)
            {
                issues.Add(XenIssueCodes.XenstoreDataNotTerminated, xs, "the last key or value is not NUL-terminated (libxl: \"Key/Val in xenstore data not NUL terminated\")");
            }

            foreach (XenstoreKeyValue kv in xs.Entries)
            {
                // libxl refuses empty keys and keys starting with '/'; other characters it writes
                // anyway, ignoring whether xenstore took them.
                if (kv.Key.Length == 0 || kv.Key[0] == '/')
                {
                    if (issues.Describe(XenIssueCodes.XenstoreKey))
                    {
                        issues.Add(XenIssueCodes.XenstoreKey, xs, Fmt("key \"{0}\" {1}", kv.Key, kv.Key.Length == 0 ? "is empty" : "starts with '/' (keys are relative to the device model's directory)"));
                    }
                }
                else
                {
                    foreach (char c in kv.Key)
                    {
                        if (!XenstoreFormat.IsPathChar(c))
                        {
                            if (issues.Describe(XenIssueCodes.XenstoreKeyCharacters))
                            {
                                issues.Add(XenIssueCodes.XenstoreKeyCharacters, xs, Fmt("key \"{0}\" contains '{1}' (U+{2:X4}); xenstore takes only ASCII letters, digits and -/_@, so the node may be missing after restore", kv.Key, c, (int)c));
                            }

                            break;
                        }
                    }
                }

                foreach (char c in kv.Value)
                {
                    if (c < 0x20 || c > 0x7E)
                    {
                        if (issues.Describe(XenIssueCodes.XenstoreValue))
                        {
                            issues.Add(XenIssueCodes.XenstoreValue, xs, Fmt("the value of \"{0}\" contains U+{1:X4}; values are printable ASCII", kv.Key, (int)c));
                        }

                        break;
                    }
                }
            }

            issues.Unkept(XenIssueCodes.XenstoreKey, xs, xs.UnkeptBadKeys, xs.Offset + 16, 1, "pairs have an empty key or a key starting with '/'");
            issues.Unkept(XenIssueCodes.XenstoreKeyCharacters, xs, xs.UnkeptOddKeys, xs.Offset + 16, 1, "pairs have key characters other than ASCII letters, digits and -/_@");
            issues.Unkept(XenIssueCodes.XenstoreValue, xs, xs.UnkeptBadValues, xs.Offset + 16, 1, "pairs have values with characters other than printable ASCII");
        }

        private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
