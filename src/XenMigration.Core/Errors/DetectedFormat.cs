namespace XenMigration
{
    /// <summary>What the first bytes of an input look like.</summary>
    public enum DetectedFormat
    {
        /// <summary>Nothing recognisable.</summary>
        Unknown = 0,
        /// <summary>The input is empty.</summary>
        Empty,
        /// <summary>An xl save file (<c>xl save</c>, <c>xl migrate</c>): 32-byte magic header.</summary>
        XlSaveFile,
        /// <summary>A bare libxl v2 stream ("LibxlFmt").</summary>
        Libxl,
        /// <summary>A bare libxc/libxenguest v2 or v3 stream (all-ones marker then "XENF").</summary>
        Libxc,
        /// <summary>Probably a legacy (Xen 4.5 and older) libxc stream without header; this is a heuristic.</summary>
        LegacyLibxc,
        /// <summary>A xenstore migration / live-update dump ("xenstore").</summary>
        XenstoreDump,
        /// <summary>A QEMU savevm/migration stream ("QEVM").</summary>
        QemuSavevm,
        /// <summary>A libvirt QEMU save image ("LibvirtQemudSave").</summary>
        LibvirtSave,
        /// <summary>A gzip-compressed file.</summary>
        Gzip,
        /// <summary>An xz-compressed file.</summary>
        Xz,
        /// <summary>A zstd-compressed file.</summary>
        Zstd,
        /// <summary>A bzip2-compressed file.</summary>
        Bzip2,
        /// <summary>A XenServer/XCP-ng (xenopsd) suspend image ("XenSavedDomv2-\n").</summary>
        XenServerSuspend,
        /// <summary>A classic XenServer suspend image ("XenSavedDomain\n", a legacy libxc stream).</summary>
        XenServerLegacySuspend,
        /// <summary>A save file of libvirt's libxl driver ("libvirt-xml" header, domain XML, libxl stream).</summary>
        LibvirtLibxl,
        /// <summary>A xend save image ("LinuxGuestRecord", SXP config, legacy stream).</summary>
        XendSave,
        /// <summary>oxenstored's text live-update dump ("$xenstored-dump-format").</summary>
        OxenstoredDump,
    }
}
