using System;
using System.Collections.Generic;
using System.Globalization;

namespace XenMigration.Inspection
{
    /// <summary>What a saved guest is: identity and shape from its configuration, and what its stream holds (Get-XenSaveInfo).</summary>
    public sealed class XenSaveInfo
    {
        internal XenSaveInfo(string? filePath) => FilePath = filePath;

        /// <summary>The image.</summary>
        public string? FilePath { get; }

        /// <summary>The outer format recognised.</summary>
        public DetectedFormat Format { get; internal set; }

        /// <summary>Domain name (from the configuration).</summary>
        public string? Name { get; internal set; }

        /// <summary>Domain UUID (configuration, or the QEMU stream's configuration record).</summary>
        public string? Uuid { get; internal set; }

        /// <summary>Hvm, Pv or Pvh: the configuration's type, else the stream's.</summary>
        public string? GuestType { get; internal set; }

        /// <summary>Configured maximum memory in MiB (or the RAM of a QEMU stream).</summary>
        public long? MemoryMiB { get; internal set; }

        /// <summary>Configured target (current) memory in MiB.</summary>
        public long? TargetMemoryMiB { get; internal set; }

        /// <summary>Configured vCPUs (max_vcpus), else the vCPUs with state.</summary>
        public int? Vcpus { get; internal set; }

        /// <summary>vCPUs whose state the stream carries (HVM context CPU entries, PV vCPU records, QEMU cpu sections).</summary>
        public int VcpusWithState { get; internal set; }

        /// <summary>Viridian enlightenments in the configuration.</summary>
        public bool? Viridian { get; internal set; }

        /// <summary>Hardware-assisted paging in the configuration.</summary>
        public bool? Hap { get; internal set; }

        /// <summary>Disks as the configuration lists them (target=source).</summary>
        public IReadOnlyList<string> Disks { get; internal set; } = Array.Empty<string>();

        /// <summary>NICs as the configuration lists them (mac@bridge).</summary>
        public IReadOnlyList<string> Nics { get; internal set; } = Array.Empty<string>();

        /// <summary>The configuration as an object (set by Get-XenSaveInfo: JSON as objects, libvirt XML as an XmlDocument).</summary>
        public object? Config { get; internal set; }

        /// <summary>The configuration's text, exactly as saved.</summary>
        public string? ConfigText { get; internal set; }

        /// <summary>Json (libxl_domain_config), Xl (xl config text) or Xml (libvirt domain XML).</summary>
        public string? ConfigFormat { get; internal set; }

        /// <summary>libxl stream version.</summary>
        public uint? LibxlVersion { get; internal set; }

        /// <summary>libxc stream version.</summary>
        public uint? LibxcVersion { get; internal set; }

        /// <summary>The saver's Xen version (null for converted and legacy images).</summary>
        public Version? XenVersion { get; internal set; }

        /// <summary>A legacy (Xen 4.5 and older) image, converted on restore.</summary>
        public bool IsLegacy { get; internal set; }

        /// <summary>Converted from a legacy image.</summary>
        public bool IsConverted { get; internal set; }

        /// <summary>PV guests: the guest's word size in bytes (4 or 8).</summary>
        public byte? GuestWidth { get; internal set; }

        /// <summary>Distinct guest pages the stream holds (data and allocated-zero).</summary>
        public long PagesPresent { get; internal set; }

        /// <summary>PagesPresent in MiB.</summary>
        public double MemoryPresentMiB => PagesPresent * 4096 / 1048576.0;

        /// <summary>Checkpoints (Remus/COLO streams).</summary>
        public int Checkpoints { get; internal set; }

        /// <summary>The device model whose state the image carries (QemuUpstream, QemuTraditional), when there is one.</summary>
        public string? DeviceModel { get; internal set; }

        /// <summary>Bytes of device-model state.</summary>
        public long DeviceModelBytes { get; internal set; }

        /// <summary>QEMU streams: the machine type.</summary>
        public string? MachineType { get; internal set; }

        /// <summary>Records (and headers) read.</summary>
        public long RecordCount { get; internal set; }

        /// <summary>Where each layer starts: "xl@0x0 libxl@0x..." .</summary>
        public string? Layers { get; internal set; }

        /// <summary>When the file was last written (the stream records no time).</summary>
        public DateTime Created { get; internal set; }

        /// <summary>The file's size in bytes.</summary>
        public long Size { get; internal set; }

        /// <summary>The file's size in GiB.</summary>
        public double SizeGB => Math.Round(Size / (double)(1L << 30), 2);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} ({1}, {2} MiB, {3} vCPUs)", Name ?? FilePath, GuestType, MemoryMiB, Vcpus);
    }
}
