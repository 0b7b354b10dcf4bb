using System.Runtime.CompilerServices;
using XenMigration.Compression;
using XenMigration.Framing;
using XenMigration.Legacy;
using XenMigration.Libvirt;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.Xenstore;
using XenMigration.Xl;
using XenMigration.XenServer;
using XenMigration.Xend;

namespace XenMigration.Images
{
    /// <summary>
    /// Tells the format detector (Framing, which knows no format) about every format this library
    /// reads, once, when the assembly loads. The order is the order probes are tried: formats with a
    /// magic first, the legacy heuristic last. A new format or container is one line here plus its
    /// folder's probe.
    /// </summary>
    internal static class FormatRegistry
    {
        [ModuleInitializer]
        [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The detector must know every format before any reader runs; registration has no side effect beyond these tables.")]
        internal static void RegisterAll()
        {
            FormatDetector.Register(DetectedFormat.XlSaveFile, "an xl save file", XlFormat.Probe);
            FormatDetector.Register(DetectedFormat.Libxl, "a libxl migration stream", LibxlFormat.Probe);
            FormatDetector.Register(DetectedFormat.Libxc, "a libxc migration stream", LibxcFormat.Probe);
            FormatDetector.Register(DetectedFormat.XenstoreDump, "a xenstore migration dump", XenstoreFormat.Probe);
            FormatDetector.Register(DetectedFormat.OxenstoredDump, "an oxenstored dump", OxenstoredDumpReader.Probe);
            FormatDetector.Register(DetectedFormat.QemuSavevm, "a QEMU savevm/migration stream (QEVM)", QemuFormat.Probe);
            FormatDetector.Register(DetectedFormat.LibvirtSave, "a libvirt QEMU save image", LibvirtFormat.Probe);
            FormatDetector.Register(DetectedFormat.Gzip, "a gzip-compressed file", CompressionFormats.ProbeGzip, compressed: true);
            FormatDetector.Register(DetectedFormat.Xz, "an xz-compressed file", CompressionFormats.ProbeXz, compressed: true);
            FormatDetector.Register(DetectedFormat.Zstd, "a zstd-compressed file", CompressionFormats.ProbeZstd, compressed: true);
            FormatDetector.Register(DetectedFormat.Bzip2, "a bzip2-compressed file", CompressionFormats.ProbeBzip2, compressed: true);
            FormatDetector.Register(DetectedFormat.LegacyLibxc, "a legacy (Xen 4.5 or older) libxc stream", LegacyFormat.Probe);

            ContainerRegistry.Register(DetectedFormat.XlSaveFile, () => new XlContainer());
            FormatDetector.Register(DetectedFormat.XenServerSuspend, "a XenServer/XCP-ng suspend image", XenServerFormat.Probe);
            FormatDetector.Register(DetectedFormat.XenServerLegacySuspend, "a classic XenServer suspend image", XenServerFormat.ProbeLegacy);
            FormatDetector.Register(DetectedFormat.LibvirtLibxl, "a save file of libvirt's libxl driver", LibvirtLibxlContainer.Probe);
            ContainerRegistry.Register(DetectedFormat.XenServerSuspend, () => new XenServerContainer());
            ContainerRegistry.Register(DetectedFormat.XenServerLegacySuspend, () => new XenServerContainer());
            ContainerRegistry.Register(DetectedFormat.LibvirtLibxl, () => new LibvirtLibxlContainer());
            FormatDetector.Register(DetectedFormat.XendSave, "a xend save image", XendFormat.Probe);
            ContainerRegistry.Register(DetectedFormat.XendSave, () => new XendContainer());
        }
    }
}
