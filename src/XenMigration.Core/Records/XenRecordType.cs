namespace XenMigration.Records
{
    /// <summary>Which layer of a Xen save image a record belongs to (docs/formats §0).</summary>
    public enum XenLayer
    {
        /// <summary>The xl save-file header.</summary>
        Xl,
        /// <summary>The libxl v2 stream.</summary>
        Libxl,
        /// <summary>The libxc / libxenguest v2 or v3 stream.</summary>
        Libxc,
        /// <summary>A toolstack's wrapper around the stream: a XenServer/XCP-ng suspend image, libvirt's libxl save header.</summary>
        Container,
    }

    /// <summary>
    /// Record types of every layer. Headers are records too, so a listing shows the whole file.
    /// Names drop Xen's <c>X86_</c> prefix (all of these are x86 records); <see cref="End"/> is used
    /// by both the libxl and libxc layers, and <see cref="XenStreamRecord.Layer"/> tells them apart.
    /// </summary>
    public enum XenRecordType
    {
        /// <summary>A type code this library does not know (only optional ones are returned).</summary>
        Unknown = 0,

        /// <summary>xl save-file header (§1).</summary>
        XlHeader,
        /// <summary>libxl stream header (§2.1).</summary>
        LibxlHeader,
        /// <summary>libxc image header (§3.1).</summary>
        ImageHeader,
        /// <summary>libxc domain header (§3.2).</summary>
        DomainHeader,

        /// <summary>END (libxl 0x0 or libxc 0x00).</summary>
        End,

        /// <summary>libxl LIBXC_CONTEXT (0x1): the libxc stream follows.</summary>
        LibxcContext,
        /// <summary>libxl EMULATOR_XENSTORE_DATA (0x2).</summary>
        EmulatorXenstoreData,
        /// <summary>libxl EMULATOR_CONTEXT (0x3): the device model's saved state.</summary>
        EmulatorContext,
        /// <summary>libxl CHECKPOINT_END (0x4).</summary>
        CheckpointEnd,
        /// <summary>libxl CHECKPOINT_STATE (0x5), COLO back channel.</summary>
        CheckpointState,

        /// <summary>libxc PAGE_DATA (0x01).</summary>
        PageData,
        /// <summary>libxc X86_PV_INFO (0x02).</summary>
        PvInfo,
        /// <summary>libxc X86_PV_P2M_FRAMES (0x03).</summary>
        PvP2mFrames,
        /// <summary>libxc X86_PV_VCPU_BASIC (0x04).</summary>
        PvVcpuBasic,
        /// <summary>libxc X86_PV_VCPU_EXTENDED (0x05).</summary>
        PvVcpuExtended,
        /// <summary>libxc X86_PV_VCPU_XSAVE (0x06).</summary>
        PvVcpuXsave,
        /// <summary>libxc SHARED_INFO (0x07).</summary>
        SharedInfo,
        /// <summary>libxc X86_TSC_INFO (0x08).</summary>
        TscInfo,
        /// <summary>libxc HVM_CONTEXT (0x09).</summary>
        HvmContext,
        /// <summary>libxc HVM_PARAMS (0x0A).</summary>
        HvmParams,
        /// <summary>libxc TOOLSTACK (0x0B), deprecated.</summary>
        Toolstack,
        /// <summary>libxc X86_PV_VCPU_MSRS (0x0C).</summary>
        PvVcpuMsrs,
        /// <summary>libxc VERIFY (0x0D).</summary>
        Verify,
        /// <summary>libxc CHECKPOINT (0x0E).</summary>
        Checkpoint,
        /// <summary>libxc CHECKPOINT_DIRTY_PFN_LIST (0x0F), COLO back channel.</summary>
        CheckpointDirtyPfnList,
        /// <summary>libxc STATIC_DATA_END (0x10), v3.</summary>
        StaticDataEnd,
        /// <summary>libxc X86_CPUID_POLICY (0x11), v3.</summary>
        CpuidPolicy,
        /// <summary>libxc X86_MSR_POLICY (0x12), v3.</summary>
        MsrPolicy,

        /// <summary>
        /// The raw legacy device-model record ("DeviceModelRecord0002" + length + QEMU state) that
        /// Xen's converter appends after the libxc END of a converted HVM stream in libxc format.
        /// </summary>
        LegacyDeviceModel,

        /// <summary>XenServer/XCP-ng suspend image signature ("XenSavedDomv2-\n" or "XenSavedDomain\n").</summary>
        XenServerSignature,
        /// <summary>A XenServer/XCP-ng suspend image record (u64 type, u64 length): Xenops, Libxc, Qemu_xen, End_of_image, ...</summary>
        XenServerSection,
        /// <summary>libvirt's libxl driver save header ("libvirt-xml"), with the domain XML.</summary>
        LibvirtLibxlHeader,
        /// <summary>A xend save image's header ("LinuxGuestRecord", a length, the domain config as SXP).</summary>
        XendConfig,
    }
}
