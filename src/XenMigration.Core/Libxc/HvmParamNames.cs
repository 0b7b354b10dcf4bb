using System.Globalization;

namespace XenMigration.Libxc
{
    /// <summary>Names of HVM params, from Xen's public/hvm/params.h (docs/formats §7).</summary>
    public static class HvmParamNames
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

        /// <summary>True when <paramref name="index"/> names a defined param.</summary>
        public static bool IsDefined(ulong index) => index < (ulong)s_names.Length && s_names[index] is not null;

        /// <summary>The param's name, or "UNDEFINED_n" for indexes params.h does not define.</summary>
        public static string NameOf(ulong index) => IsDefined(index)
            ? s_names[index]!
            : "UNDEFINED_" + index.ToString(CultureInfo.InvariantCulture);
    }
}
