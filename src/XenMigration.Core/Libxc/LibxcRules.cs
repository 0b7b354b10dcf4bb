using System;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;
using XenMigration.Rules;

namespace XenMigration.Libxc
{
    /// <summary>
    /// The rules libxenguest's restore (and Xen's verify-stream-v2) apply to each libxc record on its
    /// own: exact lengths, reserved fields, page types, widths (docs/formats §3). What depends on
    /// other records (order, guest type, version, checkpoints) is the verifier's.
    /// </summary>
    internal static class LibxcRules
    {
        /// <summary>
        /// Applies the rules of a libxc record's own type (a type added to the format adds its case
        /// here). <paramref name="guestWidth"/> is the PV guest width in bytes from X86_PV_INFO (0:
        /// not known). Returns true when the record is a PV basic state that brings its vCPU online.
        /// </summary>
        public static bool Check(XenStreamRecord r, byte guestWidth, IssueList issues)
        {
            switch (r)
            {
                case PageDataRecord page:
                    CheckPageData(page, issues);
                    return false;
                case PvP2mFramesRecord p2m:
                    CheckP2mFrames(p2m, guestWidth, issues);
                    return false;
                case PvVcpuRecord vcpu:
                    return CheckVcpu(vcpu, guestWidth, issues);
                case HvmParamsRecord hvmParams:
                    CheckHvmParams(hvmParams, issues);
                    return false;
                case TscInfoRecord tsc:
                    CheckTscInfo(tsc, issues);
                    return false;
                case CpuidPolicyRecord:
                case MsrPolicyRecord:
                    CheckPolicy(r, issues);
                    return false;
            }

            if (r.Type == XenRecordType.SharedInfo)
            {
                CheckSharedInfo(r, issues);
            }
            else if (r.Type is XenRecordType.End or XenRecordType.Checkpoint or XenRecordType.Verify or XenRecordType.StaticDataEnd)
            {
                RecordRules.MustBeEmpty(r, issues);
            }

            return false;
        }

        public static void CheckImageHeader(ImageHeaderRecord h, IssueList issues)
        {
            if (h.ReservedOptions != 0 || h.Reserved1 != 0 || h.Reserved2 != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, h.Offset + 16, h, Fmt("reserved image-header fields are not zero (options 0x{0:x}, reserved 0x{1:x} and 0x{2:x}); Xen's python verifier rejects them", h.ReservedOptions, h.Reserved1, h.Reserved2));
            }
        }

        /// <summary>Checks the domain header; returns the guest type when it is one Xen restores.</summary>
        public static XenGuestType? CheckDomainHeader(DomainHeaderRecord h, IssueList issues)
        {
            XenGuestType? guest = null;
            if (h.GuestType == XenGuestType.Pv || h.GuestType == XenGuestType.Hvm)
            {
                guest = h.GuestType;
            }
            else
            {
                issues.Add(XenIssueCodes.DomainGuestType, h, Fmt("guest type {0} is neither x86 PV (1) nor x86 HVM (2)", (uint)h.GuestType));
            }

            if (h.PageShift != 12)
            {
                issues.Add(XenIssueCodes.DomainPageShift, h.Offset + 4, h, Fmt("page_shift is {0}, not 12", h.PageShift));
            }

            if (h.Reserved != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, h.Offset + 6, h, Fmt("the reserved field is 0x{0:x}", h.Reserved));
            }

            return guest;
        }

        private static void CheckPageData(PageDataRecord p, IssueList issues)
        {
            if (p.PfnCount == 0)
            {
                issues.Add(XenIssueCodes.PageDataEmpty, p, "PAGE_DATA with a pfn count of 0 (Xen: \"Expected at least 1 pfn\")");
            }

            if (p.Length != p.ExpectedLength)
            {
                issues.Add(XenIssueCodes.RecordLength, p, Fmt("PAGE_DATA is {0} bytes but its {1} pfns with {2} data pages need exactly {3}", p.Length, p.PfnCount, p.DataPageCount, p.ExpectedLength));
            }

            if (p.Reserved != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, p.Offset + 12, p, Fmt("the reserved field after the count is 0x{0:x}", p.Reserved));
            }

            if (FirstOddFrame(p.FrameArray) >= 0)
            {
                for (int i = 0; i < p.Frames.Count; i++)
                {
                    PageFrame f = p.Frames[i];
                    long at = p.Offset + 16 + (8L * i);
                    if (!LibxcFormat.IsValidPageType((int)f.Type) && issues.Describe(XenIssueCodes.PageTypeInvalid))
                    {
                        issues.Add(XenIssueCodes.PageTypeInvalid, at, p, Fmt("pfn 0x{0:x} has reserved page type 0x{1:x}", f.Pfn, (int)f.Type));
                    }

                    if (f.ReservedBits != 0 && issues.Describe(XenIssueCodes.ReservedField))
                    {
                        issues.Add(XenIssueCodes.ReservedField, at, p, Fmt("pfn 0x{0:x} has reserved bits 52-59 set (0x{1:x}); Xen ignores them, Xen's python verifier rejects them", f.Pfn, f.ReservedBits));
                    }
                }
            }

            // Entries beyond those the reader kept were checked as they streamed past.
            issues.Unkept(XenIssueCodes.PageTypeInvalid, p, p.UnkeptInvalidTypes, p.Offset + 16, 8, "pfn entries have a reserved page type");
            issues.Unkept(XenIssueCodes.ReservedField, p, p.UnkeptReservedBits, p.Offset + 16, 8, "pfn entries have reserved bits 52-59 set");
        }

        // The first entry with a reserved page type or reserved bits, or -1: the common case (none)
        // is one optimized pass, and only a batch with a break is walked again for its messages.
        [System.Runtime.CompilerServices.MethodImpl(Hot.Optimize)]
        private static int FirstOddFrame(PageFrame[] frames)
        {
            for (int i = 0; i < frames.Length; i++)
            {
                ulong w = frames[i].Word;
                int type = (int)(w >> LibxcFormat.PageTypeShift);
                if ((type > 0x4 && type < 0x9) || (w & LibxcFormat.PfnReservedMask) != 0)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>Checks one X86_PV_INFO; returns the guest width in bytes when width and levels are a pair Xen accepts, else 0.</summary>
        public static byte CheckPvInfo(PvInfoRecord r, IssueList issues)
        {
            byte width = 0;
            if (r.Length > 8)
            {
                issues.Add(XenIssueCodes.PvInfoLength, r, Fmt("X86_PV_INFO is {0} bytes; Xen's python verifier requires exactly 8", r.Length));
            }

            if (!((r.GuestWidth == 4 && r.PtLevels == 3) || (r.GuestWidth == 8 && r.PtLevels == 4)))
            {
                issues.Add(XenIssueCodes.PvInfoWidthLevels, r.Offset + 8, r, Fmt("guest width {0} with {1} page-table levels; Xen accepts only 4 with 3 and 8 with 4", r.GuestWidth, r.PtLevels));
            }
            else
            {
                width = r.GuestWidth;
            }

            if (r.Reserved != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, r.Offset + 10, r, Fmt("the reserved bytes are 0x{0:x}", r.Reserved));
            }

            return width;
        }

        /// <summary>Checks X86_PV_P2M_FRAMES against the guest width in bytes (0: not known).</summary>
        private static void CheckP2mFrames(PvP2mFramesRecord r, byte width, IssueList issues)
        {
            if (r.StartPfn > r.EndPfn)
            {
                issues.Add(XenIssueCodes.P2mFramesRange, r.Offset + 8, r, Fmt("start pfn 0x{0:x} is after end pfn 0x{1:x}", r.StartPfn, r.EndPfn));
                return;
            }

            if (width != 0)
            {
                long frames = r.ExpectedFrameCount(width);
                long expected = 8 + (8 * frames);
                if (r.Length != expected)
                {
                    issues.Add(XenIssueCodes.RecordLength, r, Fmt("X86_PV_P2M_FRAMES is {0} bytes but pfns 0x{1:x}..0x{2:x} of a {3}-bit guest need {4} frames = {5} bytes", r.Length, r.StartPfn, r.EndPfn, width * 8, frames, expected));
                }
            }
            else if (r.Length % 8 != 0)
            {
                issues.Add(XenIssueCodes.RecordLength, r, Fmt("X86_PV_P2M_FRAMES is {0} bytes, not a multiple of 8", r.Length));
            }
        }

        /// <summary>
        /// Checks an X86_PV_VCPU_* record's own fields and length against the guest width in bytes
        /// (0: not known). Returns true for a basic state that brings its vCPU online.
        /// </summary>
        private static bool CheckVcpu(PvVcpuRecord r, byte width, IssueList issues)
        {
            if (r.Reserved != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, r.Offset + 12, r, Fmt("the reserved field is 0x{0:x}", r.Reserved));
            }

            long n = r.ContextLength;
            switch (r.Type)
            {
                case XenRecordType.PvVcpuBasic when n == 0 && r.VcpuId != 0:
                    // An offline vCPU: Xen's restore accepts an empty basic record for it.
                    return false;
                case XenRecordType.PvVcpuBasic:
                    int want = width == 4 ? LibxcFormat.VcpuBasicSize32 : LibxcFormat.VcpuBasicSize64;
                    if (width == 0 ? n != LibxcFormat.VcpuBasicSize32 && n != LibxcFormat.VcpuBasicSize64 : n != want)
                    {
                        issues.Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} basic state is {1} bytes, not {2}", r.VcpuId, n, width == 0 ? "5168 or 2800" : want.ToString(CultureInfo.InvariantCulture) + (width == 8 ? " (64-bit guest)" : " (32-bit guest)")));
                    }

                    return true;
                case XenRecordType.PvVcpuExtended when n == 0:
                case XenRecordType.PvVcpuXsave when n == 0:
                case XenRecordType.PvVcpuMsrs when n == 0:
                    issues.Add(XenIssueCodes.EmptyRecord, r, Fmt("{0} for vCPU {1} has no content (Xen 4.6-4.8 errata; ignored)", r.Type, r.VcpuId));
                    return false;
                case XenRecordType.PvVcpuExtended when n > 128:
                    issues.Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} extended state is {1} bytes, more than 128", r.VcpuId, n));
                    return false;
                case XenRecordType.PvVcpuXsave when n < 16:
                    issues.Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} xsave state is {1} bytes, less than the 16 of xcr0 and xcr0_accum", r.VcpuId, n));
                    return false;
                case XenRecordType.PvVcpuMsrs when n % 16 != 0:
                    issues.Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} MSR list is {1} bytes, not a multiple of 16", r.VcpuId, n));
                    return false;
                case XenRecordType.PvVcpuMsrs:
                    CheckPvMsrs(r, issues);
                    return false;
                default:
                    return false;
            }
        }

        /// <summary>The MSRs XEN_DOMCTL_set_vcpu_msrs restores for a PV vCPU, and how many it takes at most.</summary>
        private static readonly uint[] s_pvMsrs = { 0x48, 0x140, 0xC0000103, 0xC001011F, 0xC0011027, 0xC0011019, 0xC001101A, 0xC001101B };
        private const int MaxPvMsrs = 12;   // msrs_to_send plus the four DBEXT masks

        // XEN_DOMCTL_set_vcpu_msrs: at most nr_msrs entries, reserved zero, indexes it handles.
        private static void CheckPvMsrs(PvVcpuRecord r, IssueList issues)
        {
            long count = r.ContextLength / 16;
            if (count > MaxPvMsrs)
            {
                issues.Add(XenIssueCodes.PvVcpuMsrRefused, r, Fmt("vCPU {0} has {1} MSRs; XEN_DOMCTL_set_vcpu_msrs takes at most {2} and returns -EINVAL", r.VcpuId, count, MaxPvMsrs));
                return;
            }

            byte[] blob = RecordPayload.ReadAll(r, MaxPvMsrs * 16, "MSR list");
            for (int i = 0; i < count; i++)
            {
                var e = new SpanReader(blob.AsSpan(16 * i, 16));
                uint index = e.U32();
                uint reserved = e.U32();
                long at = r.PayloadOffset + (16L * i);
                if (reserved != 0)
                {
                    issues.Add(XenIssueCodes.PvVcpuMsrRefused, at + 4, r, Fmt("vCPU {0} MSR 0x{1:x} has reserved field 0x{2:x}; XEN_DOMCTL_set_vcpu_msrs returns -EINVAL", r.VcpuId, index, reserved));
                }
                else if (Array.IndexOf(s_pvMsrs, index) < 0)
                {
                    issues.Add(XenIssueCodes.PvVcpuMsrRefused, at, r, Fmt("vCPU {0} MSR 0x{1:x} ({2}) is not one Xen restores for a PV guest; XEN_DOMCTL_set_vcpu_msrs returns -EINVAL", r.VcpuId, index, X86.X86Names.MsrName(index)));
                }
            }
        }

        private static void CheckSharedInfo(XenStreamRecord r, IssueList issues)
        {
            if (r.Length != LibxcFormat.PageSize)
            {
                issues.Add(XenIssueCodes.RecordLength, r, Fmt("SHARED_INFO is {0} bytes, not 4096", r.Length));
            }
        }

        private static void CheckTscInfo(TscInfoRecord tsc, IssueList issues)
        {
            if (tsc.Length != 24)
            {
                issues.Add(XenIssueCodes.RecordLength, tsc, Fmt("X86_TSC_INFO is {0} bytes, not 24", tsc.Length));
            }

            if (tsc.Reserved != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, tsc.Offset + 28, tsc, Fmt("the reserved field is 0x{0:x}", tsc.Reserved));
            }

            if ((uint)tsc.Mode > 2)
            {
                issues.Add(XenIssueCodes.TscModeUnknown, tsc.Offset + 8, tsc, Fmt("TSC mode {0} is not one of 0-2{1}; Xen's tsc_set_info returns -EINVAL and the restore fails", (uint)tsc.Mode, tsc.Mode == TscMode.PvRdtscp ? " (3, PVRDTSCP, was removed in Xen 4.10)" : string.Empty));
            }
        }

        private static void CheckHvmParams(HvmParamsRecord r, IssueList issues)
        {
            if (r.Length != 8 + (16L * r.ParamCount))
            {
                issues.Add(XenIssueCodes.RecordLength, r, Fmt("HVM_PARAMS is {0} bytes but {1} params need exactly {2}", r.Length, r.ParamCount, 8 + (16L * r.ParamCount)));
            }

            if (r.Reserved != 0)
            {
                issues.Add(XenIssueCodes.ReservedField, r.Offset + 12, r, Fmt("the reserved field is 0x{0:x}; Xen's python verifier rejects it", r.Reserved));
            }

            if (r.ParamCount == 0)
            {
                issues.Add(XenIssueCodes.EmptyRecord, r, "HVM_PARAMS with no params (Xen 4.6-4.8 errata; ignored)");
            }

            for (int i = 0; i < r.Params.Count; i++)
            {
                if (!HvmParamNames.IsDefined(r.Params[i].Index) && issues.Describe(XenIssueCodes.HvmParamUnknown))
                {
                    issues.Add(XenIssueCodes.HvmParamUnknown, r.Offset + 16 + (16L * i), r, Fmt("param index {0} is not defined in public/hvm/params.h; Xen refuses to set it", r.Params[i].Index));
                }
            }

            issues.Unkept(XenIssueCodes.HvmParamUnknown, r, r.UnkeptUnknownIndexes, r.Offset + 16, 16, "params have an index that public/hvm/params.h does not define");

            for (int i = 0; i < r.Params.Count; i++)
            {
                HvmParam p = r.Params[i];
                long at = r.Offset + 16 + (16L * i);
                if (p.Index == HvmParamNames.PaeEnabled)
                {
                    issues.Add(XenIssueCodes.HvmParamDropped, at, r, "PAE_ENABLED is obsolete: libxenguest's restore drops it without setting it");
                }
                else if (HvmParamNames.Refusal(p.Index, p.Value) is string why && issues.Describe(XenIssueCodes.HvmParamRefused))
                {
                    issues.Add(XenIssueCodes.HvmParamRefused, at, r, Fmt("{0} = 0x{1:x}: {2} (restore fails: \"set HVM param {3} = 0x{1:x16}\")", p.Name, p.Value, why, p.Index));
                }
            }
        }

        /// <summary>Checks a policy record's own length and reserved fields.</summary>
        private static void CheckPolicy(XenStreamRecord r, IssueList issues)
        {
            string name = r.Type == XenRecordType.CpuidPolicy ? "X86_CPUID_POLICY" : "X86_MSR_POLICY";
            int entry = r.Type == XenRecordType.CpuidPolicy ? 24 : 16;
            if (r.Length == 0 || r.Length % entry != 0)
            {
                issues.Add(XenIssueCodes.RecordLength, r, Fmt("{0} is {1} bytes, not a non-zero multiple of {2}", name, r.Length, entry));
            }

            if (r is MsrPolicyRecord msr)
            {
                for (int i = 0; i < msr.Entries.Count; i++)
                {
                    if (msr.Entries[i].Flags != 0 && issues.Describe(XenIssueCodes.ReservedField))
                    {
                        issues.Add(XenIssueCodes.ReservedField, r.Offset + 8 + (16L * i) + 4, r, Fmt("MSR 0x{0:x} has flags 0x{1:x}; the field is reserved", msr.Entries[i].Index, msr.Entries[i].Flags));
                    }
                }

                issues.Unkept(XenIssueCodes.ReservedField, r, msr.UnkeptFlagsSet, r.Offset + 8 + 4, 16, "MSR entries have reserved flags set");
            }
        }

        private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
