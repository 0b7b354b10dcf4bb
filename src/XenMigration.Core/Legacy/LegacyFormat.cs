using System.Collections.Generic;
using XenMigration.Libxc;

namespace XenMigration.Legacy
{
    /// <summary>Chunk ids of the legacy (Xen 4.5 and older) libxc stream body (docs/formats §4.3).</summary>
    public enum LegacyChunk
    {
#pragma warning disable CS1591 // Xen's XC_SAVE_ID_* names
        End = 0,
        EnableVerifyMode = -1,
        VcpuInfo = -2,
        HvmIdentPt = -3,
        HvmVm86Tss = -4,
        Tmem = -5,
        TmemExtra = -6,
        TscInfo = -7,
        HvmConsolePfn = -8,
        LastCheckpoint = -9,
        HvmAcpiIoportsLocation = -10,
        HvmViridian = -11,
        CompressedData = -12,
        EnableCompression = -13,
        HvmGenerationIdAddr = -14,
        HvmPagingRingPfn = -15,
        HvmMonitorRingPfn = -16,
        HvmSharingRingPfn = -17,
        Toolstack = -18,
        HvmIoreqServerPfn = -19,
        HvmNrIoreqServerPages = -20,
#pragma warning restore CS1591
    }

    /// <summary>Constants of the legacy stream.</summary>
    internal static class LegacyFormat
    {
        /// <summary>Most pages in one batch (MAX_BATCH_SIZE).</summary>
        public const int MaxBatch = 1024;
        /// <summary>Highest vCPU id of a VCPU_INFO chunk.</summary>
        public const int MaxVcpuId = 4095;
        /// <summary>The filler the old saver left for pfns it could not map: XTAB with pfn 0.</summary>
        public const ulong XtabFiller = 0xF0000000;
        /// <summary>Signature of the only device-model record that can be converted.</summary>
        public const string QemuSignature = "DeviceModelRecord0002";
        /// <summary>Length of device-model record signatures.</summary>
        public const int SignatureLength = 21;
        /// <summary>Size of the per-vCPU extended context in the PV tail.</summary>
        public const int ExtendedContextSize = 128;

        /// <summary>Chunks that carry one HVM param (u32 pad + u64 value), and the param each becomes.</summary>
        public static IReadOnlyDictionary<LegacyChunk, ulong> ParamChunks { get; } = new Dictionary<LegacyChunk, ulong>
        {
            [LegacyChunk.HvmIdentPt] = HvmParamNames.IdentPt,
            [LegacyChunk.HvmVm86Tss] = HvmParamNames.Vm86Tss,
            [LegacyChunk.HvmConsolePfn] = HvmParamNames.ConsolePfn,
            [LegacyChunk.HvmAcpiIoportsLocation] = HvmParamNames.AcpiIoportsLocation,
            [LegacyChunk.HvmViridian] = HvmParamNames.Viridian,
            [LegacyChunk.HvmGenerationIdAddr] = HvmParamNames.VmGenerationIdAddr,
            [LegacyChunk.HvmPagingRingPfn] = HvmParamNames.PagingRingPfn,
            [LegacyChunk.HvmMonitorRingPfn] = HvmParamNames.MonitorRingPfn,
            [LegacyChunk.HvmSharingRingPfn] = HvmParamNames.SharingRingPfn,
            [LegacyChunk.HvmIoreqServerPfn] = HvmParamNames.IoreqServerPfn,
            [LegacyChunk.HvmNrIoreqServerPages] = HvmParamNames.NrIoreqServerPages,
        };

        /// <summary>Whether a legacy pfn word's type nibble (bits 31-28) carries page contents.</summary>
        public static bool HasData(ulong word) => (word & 0xF0000000) < 0xD0000000;

        /// <summary>Maps a legacy pfn word to a v2 PAGE_DATA word: the type nibble moves from bits 31-28 to 63-60.</summary>
        public static ulong ToV2Word(ulong word) => ((word & 0xF0000000) << 32) | (word & 0x0FFFFFFF);

        /// <summary>
        /// Whether an input looks like a legacy libxc stream, which has no magic: the first word is
        /// p2m_size at the toolstack's width; what follows is the PV extended-info marker (all-ones)
        /// or the first chunk id, a page count 1..1024 or a metadata chunk id -1..-20 (docs/formats
        /// §4). A plausible p2m_size (non-zero, below 2^36 pages = 256 TiB) plus one of those is a
        /// strong hint, never proof: this probe is tried after every format that has a magic.
        /// </summary>
        internal static bool Probe(System.ReadOnlySpan<byte> head)
        {
            if (head.Length < 12)
            {
                return false;
            }

            ulong p2m64 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(head);
            if (p2m64 != 0 && p2m64 < (1UL << 36))
            {
                if (head.Length >= 16 && System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(head.Slice(8)) == ulong.MaxValue)
                {
                    return true;
                }

                if (IsChunkId(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(head.Slice(8))))
                {
                    return true;
                }
            }

            uint p2m32 = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (p2m32 != 0)
            {
                uint second = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(4));
                if (second == uint.MaxValue || (second != 0 && IsChunkId(unchecked((int)second))))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsChunkId(int id) => (id >= 1 && id <= MaxBatch) || (id <= -1 && id >= -20);

        /// <summary>A name for messages.</summary>
        public static string NameOf(int chunk) => chunk > 0 ? "page batch" : System.Enum.IsDefined(typeof(LegacyChunk), chunk) ? ((LegacyChunk)chunk).ToString() : "chunk " + chunk.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
