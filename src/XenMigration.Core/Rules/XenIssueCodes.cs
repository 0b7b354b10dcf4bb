using System;
using System.Collections.Generic;
using System.Linq;

namespace XenMigration.Rules
{
    /// <summary>How bad a verification issue is.</summary>
    public enum XenIssueSeverity
    {
        /// <summary>Xen restores the image, but the spec or Xen's python verifier objects.</summary>
        Warning,
        /// <summary>Xen would refuse to restore the image, or a "must" of the spec is broken.</summary>
        Error,
        /// <summary>Worth knowing, not a fault: never makes an image invalid, not even with -Strict.</summary>
        Information,
    }

    /// <summary>One verification rule: its stable code, severity and what it checks.</summary>
    public sealed class XenIssueCode
    {
        internal XenIssueCode(string code, XenIssueSeverity severity, string description)
        {
            Code = code;
            Severity = severity;
            Description = description;
        }

        /// <summary>The stable code (used in results and documentation).</summary>
        public string Code { get; }
        /// <summary>Severity of every issue with this code.</summary>
        public XenIssueSeverity Severity { get; }
        /// <summary>What the rule checks.</summary>
        public string Description { get; }
    }

    /// <summary>
    /// Every rule Test-XenStream applies. Structural errors that stop the reader use the reader's
    /// error ids (<see cref="XenErrorIds"/>); the rest are below. Codes never change once published.
    /// </summary>
    public static class XenIssueCodes
    {
#pragma warning disable CS1591 // each constant is described in All
        // Errors: Xen refuses the image, or a "must" of the spec is broken.
        public const string XlByteOrder = "XlByteOrder";
        public const string XlUnknownMandatoryFlags = "XlUnknownMandatoryFlags";
        public const string XlStreamMismatch = "XlStreamMismatch";
        public const string DomainGuestType = "DomainGuestType";
        public const string DomainPageShift = "DomainPageShift";
        public const string RecordNotForGuestType = "RecordNotForGuestType";
        public const string RecordNotInVersion = "RecordNotInVersion";
        public const string RecordLength = "RecordLength";
        public const string RecordOrder = "RecordOrder";
        public const string StaticDataEndMissing = "StaticDataEndMissing";
        public const string StaticDataEndRepeated = "StaticDataEndRepeated";
        public const string PolicyAfterStaticData = "PolicyAfterStaticData";
        public const string PvInfoMissing = "PvInfoMissing";
        public const string PvInfoRepeated = "PvInfoRepeated";
        public const string PvInfoWidthLevels = "PvInfoWidthLevels";
        public const string P2mFramesRange = "P2mFramesRange";
        public const string PageDataEmpty = "PageDataEmpty";
        public const string PageTypeInvalid = "PageTypeInvalid";
        public const string VcpuContextLength = "VcpuContextLength";
        public const string VcpuId = "VcpuId";
        public const string Vcpu0BasicMissing = "Vcpu0BasicMissing";
        public const string HvmParamUnknown = "HvmParamUnknown";
        public const string HvmContextMissing = "HvmContextMissing";
        public const string HvmContextStructure = "HvmContextStructure";
        public const string HvmContextHeader = "HvmContextHeader";
        public const string HvmContextTypecode = "HvmContextTypecode";
        public const string HvmContextEntryLength = "HvmContextEntryLength";
        public const string HvmContextInstance = "HvmContextInstance";
        public const string ToolstackRecord = "ToolstackRecord";
        public const string BackChannelRecord = "BackChannelRecord";
        public const string UnexpectedCheckpointEnd = "UnexpectedCheckpointEnd";
        public const string EmulatorId = "EmulatorId";
        public const string XenstoreDataNotTerminated = "XenstoreDataNotTerminated";
        public const string XenstoreKey = "XenstoreKey";
        public const string UnknownLibxlRecord = "UnknownLibxlRecord";
        public const string HvmParamRefused = "HvmParamRefused";
        public const string HvmMsrRefused = "HvmMsrRefused";
        public const string HvmXsaveCompacted = "HvmXsaveCompacted";
        public const string PvVcpuMsrRefused = "PvVcpuMsrRefused";

        // Warnings: Xen restores the image, but the spec or Xen's python verifier objects.
        public const string NonZeroPadding = "NonZeroPadding";
        public const string ReservedField = "ReservedField";
        public const string EmptyRecord = "EmptyRecord";
        public const string ContextBeforeParams = "ContextBeforeParams";
        /// <summary>A libxl stream whose END comes without any LIBXC_CONTEXT.</summary>
        public const string LibxcContextMissing = "LibxcContextMissing";
        /// <summary>A second LIBXC_CONTEXT in a libxl stream.</summary>
        public const string LibxcContextRepeated = "LibxcContextRepeated";
        /// <summary>A libxc CHECKPOINT followed by the libxl END without CHECKPOINT_END.</summary>
        public const string CheckpointEndMissing = "CheckpointEndMissing";
        /// <summary>A CHECKPOINT in a saved file.</summary>
        public const string CheckpointInFile = "CheckpointInFile";
        public const string UnknownOptionalRecord = "UnknownOptionalRecord";
        public const string LegacyConverted = "LegacyConverted";
        public const string LegacyImage = "LegacyImage";
        public const string ConfigGuestType = "ConfigGuestType";
        public const string ConfigMemory = "ConfigMemory";
        public const string ConfigViridian = "ConfigViridian";
        public const string ConfigTscMode = "ConfigTscMode";
        public const string ConfigDeviceModel = "ConfigDeviceModel";
        public const string XenServerRecordOrder = "XenServerRecordOrder";
        public const string XenServerQemuTooLarge = "XenServerQemuTooLarge";
        public const string XenServerMemoryTarget = "XenServerMemoryTarget";
        public const string XlConfigMissing = "XlConfigMissing";
        public const string XlConfigNotTerminated = "XlConfigNotTerminated";
        public const string XlExtraOptionalData = "XlExtraOptionalData";
        public const string PvInfoLength = "PvInfoLength";
        public const string TscModeUnknown = "TscModeUnknown";
        public const string VerifyRecord = "VerifyRecord";
        public const string EmulatorTraditional = "EmulatorTraditional";
        public const string XenstoreValue = "XenstoreValue";
        public const string HvmContextTrailingData = "HvmContextTrailingData";
        public const string HvmContextDuplicate = "HvmContextDuplicate";
        public const string HvmContextEmptyXsave = "HvmContextEmptyXsave";
        public const string EmulatorContextMalformed = "EmulatorContextMalformed";
        public const string EmulatorContextUnwalkable = "EmulatorContextUnwalkable";
        public const string TrailingData = "TrailingData";
        public const string HvmContextEndNotEmpty = "HvmContextEndNotEmpty";
        public const string XenstoreKeyCharacters = "XenstoreKeyCharacters";
        public const string HvmParamDropped = "HvmParamDropped";
#pragma warning restore CS1591

        private static readonly XenIssueCode[] s_all =
        {
            E(XenErrorIds.UnexpectedEndOfStream, "The file ends inside a header or record; nothing after that point can be checked."),
            E(XenErrorIds.UnrecognizedFormat, "The file is not a Xen save image."),
            E(XenErrorIds.UnsupportedFormat, "A legacy (Xen 4.5 and older) image, xenstore dump, QEMU stream, libvirt image or compressed file."),
            E(XenErrorIds.UnsupportedVersion, "libxl stream version other than 2, or libxc version other than 2 and 3."),
            E(XenErrorIds.BigEndianStream, "The libxl or libxc header declares big-endian records; Xen refuses them (\"Unable to handle big endian streams\")."),
            E(XenErrorIds.InvalidHeader, "Wrong xl magic or byte-order field, libxl ident, libxc marker or id; xl config length larger than the optional data."),
            E(XenErrorIds.RecordTooLarge, "A record body over 128 MiB (Xen's REC_LENGTH_MAX), or xl optional data over 16 MiB."),
            E(XenErrorIds.InvalidRecordLength, "A record too short for its fixed fields or for the entry count it declares."),
            E(XenErrorIds.UnknownRecordType, "A mandatory record type (bit 31 clear) that the format does not define; Xen refuses it."),
            E(XlByteOrder, "The xl header was written by a big-endian host; xl refuses it (\"wrong byte order\")."),
            E(XlUnknownMandatoryFlags, "The xl header sets mandatory flags other than JSON (0x1) and STREAMv2 (0x2); xl refuses it."),
            E(XlStreamMismatch, "The xl header's STREAMv2 flag does not match what follows (a libxl stream with STREAMv2, a legacy stream without)."),
            E(DomainGuestType, "The domain header's guest type is neither x86 PV (1) nor x86 HVM (2)."),
            E(DomainPageShift, "The domain header's page_shift is not 12 (4 KiB pages)."),
            E(RecordNotForGuestType, "A PV-only record (X86_PV_*, SHARED_INFO) in an HVM stream, or an HVM-only record (HVM_CONTEXT, HVM_PARAMS, EMULATOR_*) in a PV stream; Xen refuses it."),
            E(RecordNotInVersion, "STATIC_DATA_END, X86_CPUID_POLICY or X86_MSR_POLICY in a version 2 stream."),
            E(RecordLength, "A record whose length breaks its exact-length rule: non-empty END/VERIFY/CHECKPOINT/STATIC_DATA_END/LIBXC_CONTEXT/CHECKPOINT_END, PAGE_DATA not 8 + 8*count + 4096*pages, P2M frame list not matching its pfn range, SHARED_INFO not 4096, X86_TSC_INFO not 24, HVM_PARAMS not 8 + 16*count, policy records not a non-zero multiple of their entry size, empty HVM_CONTEXT."),
            E(RecordOrder, "PV records out of their required order: X86_PV_INFO before X86_PV_P2M_FRAMES before PAGE_DATA before vCPU records; SHARED_INFO after X86_PV_INFO."),
            E(StaticDataEndMissing, "A version 3 stream without STATIC_DATA_END before its first PAGE_DATA or X86_PV_P2M_FRAMES (Xen: \"No STATIC_DATA_END seen\")."),
            E(StaticDataEndRepeated, "More than one STATIC_DATA_END (Xen: \"Multiple STATIC_DATA_END records found\")."),
            E(PolicyAfterStaticData, "X86_CPUID_POLICY or X86_MSR_POLICY after STATIC_DATA_END."),
            E(PvInfoMissing, "A PV stream without X86_PV_INFO."),
            E(PvInfoRepeated, "A second X86_PV_INFO; Xen refuses it."),
            E(PvInfoWidthLevels, "X86_PV_INFO pairs guest width and page-table levels other than 4/3 (32-bit) or 8/4 (64-bit); Xen refuses the others (Xen's python verifier does not)."),
            E(P2mFramesRange, "X86_PV_P2M_FRAMES with its start pfn after its end pfn."),
            E(PageDataEmpty, "PAGE_DATA with a pfn count of 0 (Xen: \"Expected at least 1 pfn\"); Xen's legacy converter can produce these."),
            E(PageTypeInvalid, "A PAGE_DATA entry with a reserved page type (5-8)."),
            E(VcpuContextLength, "X86_PV_VCPU_BASIC not exactly 5168 bytes (64-bit guest) or 2800 (32-bit), X86_PV_VCPU_EXTENDED over 128 bytes, X86_PV_VCPU_XSAVE under 16 bytes, X86_PV_VCPU_MSRS not a multiple of 16."),
            E(VcpuId, "A vCPU id (PV vCPU record, per-vCPU HVM context entry) not below the domain's max_vcpus from the xl config."),
            E(Vcpu0BasicMissing, "A PV stream without X86_PV_VCPU_BASIC for vCPU 0 (Xen: \"Sender didn't send vcpu0's basic state\")."),
            E(HvmParamUnknown, "HVM_PARAMS sets an index that public/hvm/params.h does not define; Xen refuses to set it."),
            E(HvmContextMissing, "An HVM stream without HVM_CONTEXT."),
            E(HvmContextStructure, "The HVM context's descriptors do not add up: an entry runs past the blob, or there is no END entry."),
            E(HvmContextHeader, "The HVM context does not start with a 24-byte HEADER entry carrying magic 0x54381286 and version 1."),
            E(HvmContextTypecode, "An HVM context entry with a typecode Xen does not define (Xen's loader rejects it)."),
            E(HvmContextEntryLength, "An HVM context entry whose length breaks its typecode's rule (exact size, at most the current size, CPU_XSAVE and CPU_MSR rules)."),
            E(HvmContextInstance, "A per-domain HVM context entry with an instance other than 0 (PIC: 0 or 1)."),
            E(ToolstackRecord, "A TOOLSTACK record: deprecated, and Xen's restore fails on it."),
            E(BackChannelRecord, "CHECKPOINT_DIRTY_PFN_LIST or CHECKPOINT_STATE, which only travel on the COLO back channel, in an image."),
            E(UnexpectedCheckpointEnd, "CHECKPOINT_END without a preceding CHECKPOINT (Xen: \"Unexpected CHECKPOINT_END\")."),
            E(EmulatorId, "An EMULATOR_* record with an emulator id other than 0 (unknown), 1 (QEMU traditional) or 2 (QEMU upstream)."),
            E(XenstoreDataNotTerminated, "EMULATOR_XENSTORE_DATA whose last key or value is not NUL-terminated (libxl: \"Key/Val in xenstore data not NUL terminated\")."),
            E(XenstoreKey, "An EMULATOR_XENSTORE_DATA key that is empty or starts with '/': libxl refuses it."),
            E(LibxcContextMissing, "A libxl stream that reaches its END without a LIBXC_CONTEXT: there is no guest memory or vCPU state, and libxl's restore fails."),
            E(LibxcContextRepeated, "A second LIBXC_CONTEXT in a libxl stream; libxl restores exactly one libxc stream."),
            E(CheckpointEndMissing, "A libxc CHECKPOINT whose libxl cycle reaches END without CHECKPOINT_END; libxl's restore fails."),
            E(UnknownLibxlRecord, "An optional libxl record of unknown type: the spec lets readers skip it, but libxl refuses every type it does not know."),
            E(HvmParamRefused, "An HVM_PARAMS entry that Xen refuses to set, so libxenguest's restore fails (\"set HVM param ... failed\"): a deprecated index (DM_DOMAIN, MEMORY_EVENT_*, NESTEDHVM, BUFIOREQ_EVTCHN), ALTP2M (read-only since Xen 4.20; above 3 before), TIMER_MODE above 3, VIRIDIAN without its base bit or with undefined bits, ACPI_S_STATE other than 0 or 3, TRIPLE_FAULT_REASON above SHUTDOWN_MAX, NR_IOREQ_SERVER_PAGES of 0 or above 64, X87_FIP_WIDTH other than 0, 4 or 8 (hvm_allow_set_param, hvm_set_param)."),
            E(HvmMsrRefused, "An HVM CPU_MSR entry Xen's hvm_load_cpu_msrs refuses: a non-zero reserved word, or an MSR outside the list Xen restores (SPEC_CTRL, MISC_FEATURES_ENABLES, PKRS, BNDCFGS, XSS, VIRT_SPEC_CTRL, AMD DR0-3 address masks)."),
            E(HvmXsaveCompacted, "A CPU_XSAVE entry in compacted form (XCOMP_BV bit 63): Xen's validate_xstate refuses it."),
            E(PvVcpuMsrRefused, "An X86_PV_VCPU_MSRS entry XEN_DOMCTL_set_vcpu_msrs refuses: a non-zero reserved field, an MSR outside the list Xen restores for PV guests (SPEC_CTRL, MISC_FEATURES_ENABLES, TSC_AUX, VIRT_SPEC_CTRL, AMD DR0-3 address masks), or more than the 12 entries Xen accepts."),

            W(NonZeroPadding, "Padding bytes after a record body are not zero (Xen's C readers ignore them; the spec and Xen's python verifier require zeros)."),
            W(ReservedField, "A reserved field or bit is not zero: xl optional flags, libxl options bits 2-31, libxc image header options and reserved fields, domain header, PAGE_DATA, X86_PV_INFO, vCPU records, X86_TSC_INFO, HVM_PARAMS, pfn bits 52-59, MSR policy flags."),
            W(EmptyRecord, "HVM_PARAMS with no params or X86_PV_VCPU_EXTENDED/XSAVE/MSRS with an empty blob (Xen 4.6-4.8 errata: tolerated and ignored)."),
            I(ContextBeforeParams, "HVM_CONTEXT before HVM_PARAMS. The spec asks for the opposite order, but every current Xen saver writes this one and the restorer accepts either: a note, not a fault."),
            W(UnknownOptionalRecord, "An optional libxc record of unknown type: Xen skips it; Xen's python verifier rejects it."),
            W(LegacyConverted, "The stream was converted from a legacy (Xen 4.5 and older) image (libxl LEGACY option or Xen version 0 in the domain header)."),
            W(XlConfigMissing, "The xl header carries no domain configuration: xl can restore it only with a config file given on the command line."),
            W(XlConfigNotTerminated, "The xl header's JSON configuration lacks the trailing NUL that xl writes."),
            W(XlExtraOptionalData, "The xl header's optional data has bytes after the configuration, which xl ignores."),
            W(PvInfoLength, "X86_PV_INFO longer than 8 bytes (Xen accepts it; Xen's python verifier requires exactly 8)."),
            E(TscModeUnknown, "X86_TSC_INFO with a TSC mode other than 0-2: Xen's tsc_set_info refuses it (mode 3, PVRDTSCP, was removed in Xen 4.10)."),
            W(VerifyRecord, "A VERIFY record: a debugging stream whose later pages are compared, not restored."),
            W(EmulatorTraditional, "Emulator id 1 (QEMU traditional), which Xen 4.21 no longer supports."),
            W(XenstoreValue, "An EMULATOR_XENSTORE_DATA value with characters other than printable ASCII."),
            W(HvmContextTrailingData, "Bytes after the HVM context's END entry (Xen's loader ignores them)."),
            W(HvmContextDuplicate, "The same HVM context typecode and instance twice (the later one wins)."),
            W(HvmContextEmptyXsave, "An empty CPU_XSAVE entry, as Xen before 4.12 could write (tolerated)."),
            W(EmulatorContextMalformed, "An EMULATOR_CONTEXT body that is not a well-formed QEMU migration stream (empty, wrong magic or version, a malformed or truncated record, cut inside its first section, bytes after its EOF); QEMU would refuse to load it."),
            I(EmulatorContextUnwalkable, "An EMULATOR_CONTEXT body whose QEMU stream could not be walked to its end: a device section that neither the built-in table nor a section footer delimits (the state may be fine; this module cannot check it)."),
            W(CheckpointInFile, "A CHECKPOINT record in a saved file: checkpointed (Remus/COLO) streams are sent live to a secondary; xl restore of a plain save refuses them (\"Found checkpoint in non-checkpointed stream\")."),
            W(TrailingData, "Bytes after the final END (Xen stops reading at END)."),
            W(HvmContextEndNotEmpty, "The HVM context's END entry has a non-zero instance or length: Xen's loader stops at END without reading either."),
            W(XenstoreKeyCharacters, "An EMULATOR_XENSTORE_DATA key with characters other than ASCII letters, digits and -/_@ (spaces, '..', non-ASCII): libxl writes it anyway and ignores the result, so the node may be missing after restore."),
            E(ConfigGuestType, "The xl config's guest type (hvm/pvh or pv) differs from the stream's domain header: libxl builds the domain the config says and libxenguest refuses a stream of the other type (xc_sr_restore.c, read_headers)."),
            E(ConfigMemory, "The config's target memory is above its maximum (libxl refuses the domain), or the stream populates more memory than the config's max_memkb allows with libxl's slack and video memory (Xen refuses the pages, the restore fails)."),
            E(ConfigViridian, "The stream's HVM_PARAM_VIRIDIAN differs from the value libxl derives from the config's Viridian groups: libxl sets it at domain creation and Xen refuses to change it (hvm_allow_set_param, EEXIST)."),
            W(ConfigTscMode, "The config's tsc_mode differs from X86_TSC_INFO's mode: the restore applies the stream's, so the guest runs with a TSC mode its config does not say."),
            E(ConfigDeviceModel, "Device-model records whose emulator differs from the config's device_model_version (qemu_xen or qemu_xen_traditional), or device-model records for a PV config: libxl refuses them (libxl_stream_read.c)."),
            E(XenServerRecordOrder, "A XenServer/XCP-ng suspend image whose records are out of xenopsd's order: the Xenops record first, the memory image (Libxc, Libxl) before the device-model state, nothing after End_of_image."),
            E(XenServerQemuTooLarge, "A Qemu_trad record over 1 MiB in a XenServer suspend image: xenopsd refuses it."),
            E(XenServerMemoryTarget, "The VM record of a XenServer suspend image has memory_dynamic_max above memory_static_max: the domain cannot be built to resume it (xen-api#6451)."),
            I(LegacyImage, "A legacy (Xen 4.5 and older) image: xl restore converts it (convert-legacy-stream) before restoring, and it converts cleanly here. Convert it once with ConvertTo-XenStreamV2 to read its records."),
            I(HvmParamDropped, "An HVM_PARAMS entry libxenguest's restore drops without setting (PAE_ENABLED, obsolete)."),
        };

        /// <summary>Every rule, errors first.</summary>
        public static IReadOnlyList<XenIssueCode> All => s_all;

        private static readonly Dictionary<string, XenIssueCode> s_byCode = s_all.ToDictionary(c => c.Code, StringComparer.Ordinal);

        /// <summary>The rule with this code.</summary>
        public static XenIssueCode Get(string code) => s_byCode[code];

        private static XenIssueCode E(string code, string description) => new XenIssueCode(code, XenIssueSeverity.Error, description);

        private static XenIssueCode W(string code, string description) => new XenIssueCode(code, XenIssueSeverity.Warning, description);

        private static XenIssueCode I(string code, string description) => new XenIssueCode(code, XenIssueSeverity.Information, description);
    }
}
