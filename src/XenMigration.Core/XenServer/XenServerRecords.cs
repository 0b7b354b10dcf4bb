using System.Globalization;
using XenMigration.Records;

namespace XenMigration.XenServer
{
    /// <summary>The signature that starts a XenServer/XCP-ng suspend image.</summary>
    public sealed class XenServerSignatureRecord : XenStreamRecord
    {
        internal XenServerSignatureRecord(in RecordContext context, bool structured)
            : base(context) => IsStructured = structured;

        /// <summary>True for "XenSavedDomv2-" (records follow); false for the classic "XenSavedDomain" (a legacy libxc stream follows).</summary>
        public bool IsStructured { get; }

        /// <inheritdoc/>
        public override string Summary => IsStructured ? "XenSavedDomv2 (structured suspend image)" : "XenSavedDomain (classic suspend image: a legacy stream follows)";
    }

    /// <summary>
    /// A record of a XenServer/XCP-ng suspend image: a u64 type and a u64 length, then, for the
    /// device-model, vGPU, UEFI and TPM records, that many bytes (the record's payload); a Libxc or
    /// Libxl record is followed by its stream instead.
    /// </summary>
    public class XenServerRecord : XenStreamRecord
    {
        internal XenServerRecord(in RecordContext context, XenServerRecordKind kind, ulong declaredLength)
            : base(context)
        {
            Kind = kind;
            DeclaredLength = declaredLength;
        }

        /// <summary>What the record is.</summary>
        public XenServerRecordKind Kind { get; }

        /// <summary>The length field as written (for Libxc and Libxl xenopsd writes no length there).</summary>
        public ulong DeclaredLength { get; }

        /// <inheritdoc/>
        public override string Summary => Kind switch
        {
            XenServerRecordKind.Libxc => "Libxc: a libxc memory image follows",
            XenServerRecordKind.Libxl => "Libxl: a libxl stream follows",
            XenServerRecordKind.LibxcLegacy => "Libxc_legacy: a legacy libxc stream follows",
            XenServerRecordKind.EndOfImage => "End_of_image",
            _ => string.Format(CultureInfo.InvariantCulture, "{0}, {1} bytes", Kind, DeclaredLength),
        };
    }

    /// <summary>xenopsd's own record: when the image was made, the saver's word size, and the VM record it saved.</summary>
    public sealed class XenopsRecord : XenServerRecord
    {
        internal XenopsRecord(in RecordContext context, ulong declaredLength, string text)
            : base(context, XenServerRecordKind.Xenops, declaredLength) => Text = text;

        /// <summary>The record as written (an S-expression).</summary>
        public string Text { get; }

        /// <summary>When xenopsd wrote the image (its "time" field).</summary>
        public string? Time { get; internal set; }

        /// <summary>The saving xenopsd's word size (64).</summary>
        public int? WordSize { get; internal set; }

        /// <summary>The VM record (JSON), as xenopsd stored it in "vm_str".</summary>
        public string? VmRecord { get; internal set; }

        /// <summary>The VM's name.</summary>
        public string? VmName { get; internal set; }

        /// <summary>The VM's UUID (its xenopsd id).</summary>
        public string? VmUuid { get; internal set; }

        /// <summary>HVM, PV or PVinPVH, from the VM record's "ty".</summary>
        public string? VmType { get; internal set; }

        /// <summary>memory_static_max, bytes.</summary>
        public long? MemoryStaticMax { get; internal set; }

        /// <summary>memory_dynamic_max (the target), bytes.</summary>
        public long? MemoryDynamicMax { get; internal set; }

        /// <summary>memory_dynamic_min, bytes.</summary>
        public long? MemoryDynamicMin { get; internal set; }

        /// <summary>vcpu_max.</summary>
        public int? VcpuMax { get; internal set; }

        /// <summary>vcpus (online at save).</summary>
        public int? Vcpus { get; internal set; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "Xenops: VM {0} ({1}), {2} MiB, {3} vCPUs, saved {4}", VmName ?? "?", VmUuid ?? "?", MemoryStaticMax is long m ? m >> 20 : (long?)null, VcpuMax, Time);
    }
}
