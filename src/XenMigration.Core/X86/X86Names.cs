using System.Collections.Generic;
using System.Globalization;

namespace XenMigration.X86
{
    /// <summary>
    /// Architectural names of x86 MSRs, CPUID leaves and XSAVE state components, for the MSR and
    /// CPUID records of libxc streams and the HVM context (Intel SDM vol. 4, AMD APM vol. 2, Xen's
    /// msr-index.h). Shared by every format that carries CPU state.
    /// </summary>
    internal static class X86Names
    {
        private static readonly Dictionary<uint, string> s_msrs = new Dictionary<uint, string>
        {
            [0x10] = "TSC",
            [0x1B] = "APIC_BASE",
            [0x3A] = "FEATURE_CONTROL",
            [0x3B] = "TSC_ADJUST",
            [0x48] = "SPEC_CTRL",
            [0x49] = "PRED_CMD",
            [0x8B] = "BIOS_SIGN_ID",
            [0xCE] = "PLATFORM_INFO",
            [0xE7] = "MPERF",
            [0xE8] = "APERF",
            [0xFE] = "MTRRCAP",
            [0x10A] = "ARCH_CAPABILITIES",
            [0x10B] = "FLUSH_CMD",
            [0x122] = "TSX_CTRL",
            [0x140] = "MISC_FEATURES_ENABLES",
            [0x174] = "SYSENTER_CS",
            [0x175] = "SYSENTER_ESP",
            [0x176] = "SYSENTER_EIP",
            [0x179] = "MCG_CAP",
            [0x17A] = "MCG_STATUS",
            [0x17B] = "MCG_CTL",
            [0x1A0] = "MISC_ENABLE",
            [0x1D9] = "DEBUGCTL",
            [0x277] = "PAT",
            [0x2FF] = "MTRR_DEF_TYPE",
            [0x4D0] = "MCG_EXT_CTL",
            [0x6E0] = "TSC_DEADLINE",
            [0x6E1] = "PKRS",
            [0xD90] = "BNDCFGS",
            [0xDA0] = "XSS",
            [0xC0000080] = "EFER",
            [0xC0000081] = "STAR",
            [0xC0000082] = "LSTAR",
            [0xC0000083] = "CSTAR",
            [0xC0000084] = "SYSCALL_MASK",
            [0xC0000100] = "FS_BASE",
            [0xC0000101] = "GS_BASE",
            [0xC0000102] = "KERNEL_GS_BASE",
            [0xC0000103] = "TSC_AUX",
            [0xC0010015] = "AMD64_HWCR",
            [0xC001011F] = "VIRT_SPEC_CTRL",
            [0xC0011019] = "AMD64_DR1_ADDRESS_MASK",
            [0xC001101A] = "AMD64_DR2_ADDRESS_MASK",
            [0xC001101B] = "AMD64_DR3_ADDRESS_MASK",
            [0xC0011027] = "AMD64_DR0_ADDRESS_MASK",
        };

        private static readonly Dictionary<uint, string> s_leaves = new Dictionary<uint, string>
        {
            [0x0] = "Vendor and maximum basic leaf",
            [0x1] = "Family, model, stepping and features",
            [0x2] = "Cache and TLB descriptors",
            [0x4] = "Deterministic cache parameters",
            [0x5] = "MONITOR/MWAIT",
            [0x6] = "Thermal and power management",
            [0x7] = "Structured extended features",
            [0xA] = "Architectural performance monitoring",
            [0xB] = "Extended topology",
            [0xD] = "XSAVE state",
            [0xF] = "Resource director monitoring",
            [0x10] = "Resource director allocation",
            [0x12] = "SGX",
            [0x14] = "Processor trace",
            [0x15] = "TSC and core crystal clock",
            [0x16] = "Processor frequency",
            [0x1F] = "V2 extended topology",
            [0x40000000] = "Hypervisor vendor and maximum leaf",
            [0x80000000] = "Vendor and maximum extended leaf",
            [0x80000001] = "Extended features",
            [0x80000002] = "Brand string 1",
            [0x80000003] = "Brand string 2",
            [0x80000004] = "Brand string 3",
            [0x80000005] = "L1 cache and TLB (AMD)",
            [0x80000006] = "L2/L3 cache",
            [0x80000007] = "Advanced power management",
            [0x80000008] = "Address sizes and extended features",
            [0x8000000A] = "SVM features",
            [0x80000019] = "1 GiB page TLB (AMD)",
            [0x8000001A] = "Performance optimisations (AMD)",
            [0x8000001C] = "Lightweight profiling (AMD)",
            [0x8000001D] = "Cache topology (AMD)",
            [0x8000001E] = "Extended APIC ID (AMD)",
            [0x8000001F] = "Encrypted memory (AMD)",
            [0x80000021] = "Extended features 2 (AMD)",
        };

        private static readonly string[] s_xsave =
        {
            "x87", "SSE", "AVX", "MPX_BNDREGS", "MPX_BNDCSR", "AVX512_OPMASK", "AVX512_ZMM_HI256",
            "AVX512_HI16_ZMM", "PT", "PKRU", "PASID", "CET_U", "CET_S", "HDC", "UINTR", "LBR", "HWP",
            "AMX_TILECFG", "AMX_TILEDATA",
        };

        /// <summary>The MSR's architectural name, or "MSR_0x..." when this table does not know it.</summary>
        public static string MsrName(uint index)
        {
            if (s_msrs.TryGetValue(index, out string? name))
            {
                return name;
            }

            if (index >= 0x200 && index < 0x210)
            {
                return string.Format(CultureInfo.InvariantCulture, "MTRR_PHYS{0}{1}", (index & 1) == 0 ? "BASE" : "MASK", (index - 0x200) / 2);
            }

            if (index >= 0x400 && index < 0x480)
            {
                string[] kind = { "CTL", "STATUS", "ADDR", "MISC" };
                return string.Format(CultureInfo.InvariantCulture, "MC{0}_{1}", (index - 0x400) / 4, kind[(index - 0x400) % 4]);
            }

            return string.Format(CultureInfo.InvariantCulture, "MSR_0x{0:X}", index);
        }

        /// <summary>What a CPUID leaf reports, or null when this table does not know it.</summary>
        public static string? CpuidLeafName(uint leaf) => s_leaves.TryGetValue(leaf, out string? name) ? name : null;

        /// <summary>The XSAVE state component of a bit of XCR0 / XSTATE_BV.</summary>
        public static string XsaveComponentName(int bit) => bit >= 0 && bit < s_xsave.Length ? s_xsave[bit] : "COMPONENT_" + bit.ToString(CultureInfo.InvariantCulture);
    }
}
