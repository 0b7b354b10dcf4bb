using System.Globalization;

namespace XenMigration.Libxc
{
    /// <summary>Names of HVM params, from Xen's public/hvm/params.h (docs/formats §7).</summary>
    internal static class HvmParamNames
    {
        /// <summary>HVM_NR_PARAMS: indexes at or above this are not defined.</summary>
        public const int Count = 39;

        private static readonly string?[] s_names =
        {
            "CALLBACK_IRQ", "STORE_PFN", "STORE_EVTCHN", null, "PAE_ENABLED", "IOREQ_PFN", "BUFIOREQ_PFN", null, null,
            "VIRIDIAN", "TIMER_MODE", "HPET_ENABLED", "IDENT_PT", "DM_DOMAIN", "ACPI_S_STATE", "VM86_TSS", "VPT_ALIGN",
            "CONSOLE_PFN", "CONSOLE_EVTCHN", "ACPI_IOPORTS_LOCATION", "MEMORY_EVENT_CR0", "MEMORY_EVENT_CR3",
            "MEMORY_EVENT_CR4", "MEMORY_EVENT_INT3", "NESTEDHVM", "MEMORY_EVENT_SINGLE_STEP", "BUFIOREQ_EVTCHN",
            "PAGING_RING_PFN", "MONITOR_RING_PFN", "SHARING_RING_PFN", "MEMORY_EVENT_MSR", "TRIPLE_FAULT_REASON",
            "IOREQ_SERVER_PFN", "NR_IOREQ_SERVER_PAGES", "VM_GENERATION_ID_ADDR", "ALTP2M", "X87_FIP_WIDTH",
            "VM86_TSS_SIZED", "MCA_CAP",
        };

#pragma warning disable CS1591 // indexes named as in params.h
        public const ulong CallbackIrq = 0;
        public const ulong StorePfn = 1;
        public const ulong StoreEvtchn = 2;
        public const ulong PaeEnabled = 4;
        public const ulong IoreqPfn = 5;
        public const ulong BufioreqPfn = 6;
        public const ulong Viridian = 9;
        public const ulong TimerMode = 10;
        public const ulong HpetEnabled = 11;
        public const ulong IdentPt = 12;
        public const ulong Vm86Tss = 15;
        public const ulong ConsolePfn = 17;
        public const ulong AcpiIoportsLocation = 19;
        public const ulong PagingRingPfn = 27;
        public const ulong MonitorRingPfn = 28;
        public const ulong SharingRingPfn = 29;
        public const ulong IoreqServerPfn = 32;
        public const ulong NrIoreqServerPages = 33;
        public const ulong VmGenerationIdAddr = 34;
        public const ulong X87FipWidth = 36;
        public const ulong Vm86TssSized = 37;
        public const ulong McaCap = 38;
#pragma warning restore CS1591

        /// <summary>HVMPV_feature_mask: the Viridian feature bits Xen knows (0-12).</summary>
        public const ulong ViridianFeatureMask = 0x1FFF;

        /// <summary>
        /// Why Xen refuses to set <paramref name="index"/> to <paramref name="value"/> during a restore
        /// (hvm_allow_set_param and hvm_set_param, called from libxenguest's handle_hvm_params),
        /// or null when it accepts it.
        /// </summary>
        public static string? Refusal(ulong index, ulong value) => index switch
        {
            13 or 20 or 21 or 22 or 23 or 24 or 25 or 26 or 30 => "the param is deprecated; hvm_allow_set_param returns -EINVAL",
            35 => "the altp2m mode is read-only since Xen 4.20 (set when the domain is created; -EEXIST), and values above 3 (limited) were refused before",
            10 when value > 3 => "timer modes are 0-3 (one_missed_tick_pending); hvm_set_param returns -EINVAL",
            9 when (value & ~ViridianFeatureMask) != 0 => string.Format(CultureInfo.InvariantCulture, "bits 0x{0:x} are outside HVMPV_feature_mask 0x1fff; hvm_set_param returns -EINVAL", value & ~ViridianFeatureMask),
            9 when (value & 1) == 0 => "the base+freq bit (0) is clear, which Xen requires of any Viridian setting; hvm_set_param returns -EINVAL",
            14 when value != 0 && value != 3 => "ACPI sleep states are 0 (resume) or 3 (suspend); hvm_set_param returns -EINVAL",
            31 when value > 5 => "shutdown reasons end at SHUTDOWN_MAX (5, soft_reset); hvm_set_param returns -EINVAL",
            33 when value == 0 || value > 64 => "the ioreq server page count must be 1 to 64 (the bits of the mask); hvm_set_param returns -EINVAL",
            36 when value != 0 && value != 4 && value != 8 => "the x87 FIP width is 0, 4 or 8; hvm_set_param returns -EINVAL",
            _ => null,
        };

        /// <summary>True when <paramref name="index"/> names a defined param.</summary>
        public static bool IsDefined(ulong index) => index < (ulong)s_names.Length && s_names[index] is not null;

        private static readonly string[] s_viridianBits =
        {
            "base+freq", "no_freq", "time_ref_count", "reference_tsc", "hcall_remote_tlb_flush", "apic_assist",
            "crash_ctl", "synic", "stimer", "hcall_ipi", "ex_processor_masks", "no_vp_limit", "cpu_hotplug",
        };

        /// <summary>
        /// What a param's value means, for the params whose values params.h defines (callback IRQ
        /// routing, Viridian features, timer mode, altp2m mode, ...); null for plain numbers and frames.
        /// </summary>
        public static string? Describe(ulong index, ulong value)
        {
            switch (index)
            {
                case CallbackIrq:
                    switch (value >> 56)
                    {
                        case 0: return value == 0 ? "none" : "GSI " + (value & 0x00FFFFFFFFFFFFFFUL).ToString(CultureInfo.InvariantCulture);
                        case 1: return string.Format(CultureInfo.InvariantCulture, "PCI INTx: domain {0}, bus {1}, devfn 0x{2:x2} (device {3}, function {4}), INT{5}", (value >> 32) & 0xFFFF, (value >> 16) & 0xFFFF, (value >> 8) & 0xFF, ((value >> 8) & 0xFF) >> 3, (value >> 8) & 7, (char)('A' + (int)(value & 3)));
                        case 2: return string.Format(CultureInfo.InvariantCulture, "vector 0x{0:x2}", value & 0xFF);
                        default: return string.Format(CultureInfo.InvariantCulture, "unknown callback type {0}", value >> 56);
                    }

                case Viridian:
                {
                    var names = new System.Collections.Generic.List<string>();
                    for (int bit = 0; bit < 64; bit++)
                    {
                        if ((value & (1UL << bit)) != 0)
                        {
                            names.Add(bit < s_viridianBits.Length ? s_viridianBits[bit] : "bit" + bit.ToString(CultureInfo.InvariantCulture));
                        }
                    }

                    return names.Count == 0 ? "disabled" : string.Join(", ", names);
                }

                case TimerMode:
                    return value switch
                    {
                        0 => "delay_for_missed_ticks",
                        1 => "no_delay_for_missed_ticks",
                        2 => "no_missed_ticks_pending",
                        3 => "one_missed_tick_pending",
                        _ => "unknown timer mode",
                    };
                case HpetEnabled:
                case 16:   // VPT_ALIGN
                    return value != 0 ? "true" : "false";
                case AcpiIoportsLocation:
                    return value switch { 0 => "old PM1a/TMR ports (0x1F40...)", 1 => "QEMU ports (0xB000...)", _ => "unknown" };
                case 31:   // TRIPLE_FAULT_REASON: a SCHEDOP_shutdown code
                    return value switch { 0 => "poweroff", 1 => "reboot", 2 => "suspend", 3 => "crash", 4 => "watchdog", 5 => "soft_reset", _ => "unknown shutdown code" };
                case 35:   // ALTP2M
                    return value switch { 0 => "disabled", 1 => "mixed", 2 => "external", 3 => "limited", _ => "unknown altp2m mode" };
                case X87FipWidth:
                    return value switch { 0 => "default", 4 => "4 bytes", 8 => "8 bytes", _ => "invalid width" };
                case Vm86TssSized:
                    return string.Format(CultureInfo.InvariantCulture, "address 0x{0:x}, size {1}", value & 0xFFFFFFFF, value >> 32);
                case McaCap:
                    return (value & 1) != 0 ? "LMCE" : "none";
                default:
                    return null;
            }
        }

        /// <summary>
        /// The index a user means by <paramref name="name"/>: a params.h name with or without its
        /// HVM_PARAM_ prefix (any case), UNDEFINED_n, or a number (decimal or 0x hex). Null when it is none of these.
        /// </summary>
        public static ulong? IndexOf(string name)
        {
            string n = name.Trim();
            if (n.StartsWith("HVM_PARAM_", System.StringComparison.OrdinalIgnoreCase))
            {
                n = n.Substring(10);
            }

            for (int i = 0; i < s_names.Length; i++)
            {
                if (s_names[i] is string known && string.Equals(known, n, System.StringComparison.OrdinalIgnoreCase))
                {
                    return (ulong)i;
                }
            }

            if (n.StartsWith("UNDEFINED_", System.StringComparison.OrdinalIgnoreCase))
            {
                n = n.Substring(10);
            }

            if (n.StartsWith("0x", System.StringComparison.OrdinalIgnoreCase)
                ? ulong.TryParse(n.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex)
                : ulong.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out hex))
            {
                return hex;
            }

            return null;
        }

        /// <summary>Every defined param's name (for completion).</summary>
        public static System.Collections.Generic.IEnumerable<string> Names
        {
            get
            {
                foreach (string? n in s_names)
                {
                    if (n is not null)
                    {
                        yield return n;
                    }
                }
            }
        }

        /// <summary>The param's name, or "UNDEFINED_n" for indexes params.h does not define.</summary>
        public static string NameOf(ulong index) => IsDefined(index)
            ? s_names[index]!
            : "UNDEFINED_" + index.ToString(CultureInfo.InvariantCulture);
    }
}
