namespace XenMigration.Framing
{
    /// <summary>
    /// Every cap this library puts on what an input may make it allocate or walk, in one table. A
    /// length or count read from a file is checked against its cap (and against the bytes that
    /// remain) before anything is allocated. Readers' options default to these values.
    /// </summary>
    internal static class Limits
    {
        /// <summary>Xen's REC_LENGTH_MAX: longer libxl/libxc record bodies are refused (Xen does too).</summary>
        public const int MaxRecordLength = 128 << 20;

        /// <summary>
        /// The most entries (pfns, params, CPUID leaves, MSRs, key/value pairs) a record keeps in
        /// memory; the rest are counted and checked as they stream past.
        /// </summary>
        public const int MaxRetainedEntries = 65536;

        /// <summary>Issues listed per code in a verification; the rest are counted.</summary>
        public const int MaxListedPerCode = 20;

        /// <summary>xl header optional data (the domain config). xl has no cap; real configs are a few KiB.</summary>
        public const int MaxXlOptionalData = 16 << 20;

        /// <summary>Longest EMULATOR_XENSTORE_DATA key or value kept (xenstore's own limits are 3072 and 4096).</summary>
        public const int MaxXenstoreToken = 65536;

        /// <summary>HVM context typecode/instance pairs remembered for duplicate detection (a real context has a few per vCPU).</summary>
        public const int MaxHvmEntriesRemembered = 1 << 16;

        /// <summary>xenstore-dump record bodies (a node is at most 3 KiB of path, 4 KiB of value and its permissions).</summary>
        public const int MaxXenstoreRecordLength = 16 << 20;

        /// <summary>Legacy images: xenstore data made from the libxl toolstack chunk's physmap entries (libxl writes a few).</summary>
        public const int MaxPhysmapXenstoreBytes = 1 << 20;

        /// <summary>A QEMU device section body decoded in memory.</summary>
        public const int MaxQemuSectionBody = 16 << 20;

        /// <summary>A QEMU stream's JSON VM description.</summary>
        public const int MaxQemuDescription = 16 << 20;

        /// <summary>Nesting of a QEMU JSON description (objects and arrays).</summary>
        public const int MaxJsonDepth = 256;

        /// <summary>Struct nesting inside one VMState description.</summary>
        public const int MaxVmStateDepth = 64;

        /// <summary>Distinct QEMU sections in one stream.</summary>
        public const int MaxQemuSections = 65536;

        /// <summary>RAM blocks in one QEMU stream.</summary>
        public const int MaxQemuRamBlocks = 4096;

        /// <summary>Guest memory returned in one piece by a QEMU memory read.</summary>
        public const int MaxQemuMemoryRead = 256 << 20;

        /// <summary>The XML and cookie of a libvirt save header.</summary>
        public const int MaxLibvirtData = 64 << 20;

        /// <summary>A validation report read back by an incremental run (about 500 bytes per image: half a million images).</summary>
        public const int MaxReportBytes = 256 << 20;

        /// <summary>Initial allocation when reading an array of unknown availability (a pipe): it grows as bytes arrive.</summary>
        public const int GrowthStart = 1 << 20;
    }
}
