using System.Globalization;
using XenMigration.Records;
using XenMigration.Rules;

namespace XenMigration.XenServer
{
    /// <summary>
    /// xenopsd's restore rules for its suspend images (xen-api ocaml/xenopsd/xc/domain.ml, restore):
    /// the Xenops record first, the memory image before the device-model state, End_of_image last,
    /// QEMU traditional's state within 1 MiB, and a VM record whose target memory does not exceed
    /// its static maximum (xen-api#6451: such an image cannot be resumed).
    /// </summary>
    internal sealed class XenServerRules
    {
        private bool _xenopsSeen;
        private bool _memorySeen;
        private bool _ended;
        private int _records;

        public void Check(XenStreamRecord r, IssueList issues)
        {
            if (r is not XenServerRecord x)
            {
                if (_ended && r.Layer == XenLayer.Container)
                {
                    issues.Add(XenIssueCodes.XenServerRecordOrder, r, "a record after End_of_image");
                }

                return;
            }

            _records++;
            if (_ended)
            {
                issues.Add(XenIssueCodes.XenServerRecordOrder, r, Fmt("{0} after End_of_image: xenopsd stops reading there", x.Kind));
            }

            switch (x.Kind)
            {
                case XenServerRecordKind.Xenops:
                    if (_records != 1)
                    {
                        issues.Add(XenIssueCodes.XenServerRecordOrder, r, "the Xenops record is not the first: xenopsd reads it first and fails otherwise");
                    }

                    _xenopsSeen = true;
                    if (x is XenopsRecord ops && ops.MemoryDynamicMax is long target && ops.MemoryStaticMax is long max && target > max)
                    {
                        issues.Add(XenIssueCodes.XenServerMemoryTarget, r, Fmt("the VM record's memory_dynamic_max ({0} bytes) is above its memory_static_max ({1}): the domain cannot be built to resume it (xen-api#6451)", target, max));
                    }

                    break;
                case XenServerRecordKind.Libxc:
                case XenServerRecordKind.Libxl:
                case XenServerRecordKind.LibxcLegacy:
                    if (!_xenopsSeen)
                    {
                        issues.Add(XenIssueCodes.XenServerRecordOrder, r, Fmt("a {0} record before the Xenops record", x.Kind));
                    }

                    _memorySeen = true;
                    break;
                case XenServerRecordKind.QemuTrad:
                case XenServerRecordKind.QemuXen:
                case XenServerRecordKind.Demu:
                    if (!_memorySeen)
                    {
                        issues.Add(XenIssueCodes.XenServerRecordOrder, r, Fmt("the {0} record comes before the memory image: xenopsd restores memory first", x.Kind));
                    }

                    if (x.Kind == XenServerRecordKind.QemuTrad && x.DeclaredLength > XenServerFormat.MaxQemuTrad)
                    {
                        issues.Add(XenIssueCodes.XenServerQemuTooLarge, r, Fmt("the Qemu_trad record is {0} bytes; xenopsd refuses device state over {1} bytes", x.DeclaredLength, XenServerFormat.MaxQemuTrad));
                    }

                    break;
                case XenServerRecordKind.EndOfImage:
                    _ended = true;
                    break;
            }
        }

        private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
