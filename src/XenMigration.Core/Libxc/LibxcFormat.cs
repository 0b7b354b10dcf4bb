using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libxc
{
    /// <summary>Guest type of the libxc domain header.</summary>
    public enum XenGuestType : uint
    {
        /// <summary>0: reserved, invalid.</summary>
        Reserved = 0,
        /// <summary>x86 paravirtualised guest.</summary>
        Pv = 1,
        /// <summary>x86 HVM guest.</summary>
        Hvm = 2,
    }

    /// <summary>Page types of PAGE_DATA frames (XEN_DOMCTL_PFINFO_*, docs/formats §3.4).</summary>
    public enum XenPageType : byte
    {
        /// <summary>Normal page.</summary>
        NoTab = 0x0,
        /// <summary>L1 page-table page.</summary>
        L1Tab = 0x1,
        /// <summary>L2 page-table page.</summary>
        L2Tab = 0x2,
        /// <summary>L3 page-table page.</summary>
        L3Tab = 0x3,
        /// <summary>L4 page-table page.</summary>
        L4Tab = 0x4,
        /// <summary>Pinned L1 page-table page.</summary>
        L1TabPinned = 0x9,
        /// <summary>Pinned L2 page-table page.</summary>
        L2TabPinned = 0xA,
        /// <summary>Pinned L3 page-table page.</summary>
        L3TabPinned = 0xB,
        /// <summary>Pinned L4 page-table page.</summary>
        L4TabPinned = 0xC,
        /// <summary>Broken page: no data.</summary>
        Broken = 0xD,
        /// <summary>Allocate only: no data.</summary>
        XAlloc = 0xE,
        /// <summary>Invalid / not in the P2M: no data.</summary>
        XTab = 0xF,
    }

    /// <summary>TSC modes of X86_TSC_INFO.</summary>
    public enum TscMode : uint
    {
        /// <summary>Default.</summary>
        Default = 0,
        /// <summary>Always emulate.</summary>
        AlwaysEmulate = 1,
        /// <summary>Never emulate.</summary>
        NeverEmulate = 2,
        /// <summary>PV RDTSCP (obsolete).</summary>
        PvRdtscp = 3,
    }

    /// <summary>Constants, names and body encoders of the libxc/libxenguest stream (docs/formats §3).</summary>
    internal static class LibxcFormat
    {
        /// <summary>Image-header marker (all ones).</summary>
        public const ulong Marker = ulong.MaxValue;
        /// <summary>"XENF".</summary>
        public const uint Id = 0x58454E46;
        /// <summary>Image header size.</summary>
        public const int ImageHeaderSize = 24;
        /// <summary>Domain header size.</summary>
        public const int DomainHeaderSize = 16;
        /// <summary>Image-header options bit 0: big-endian.</summary>
        public const ushort OptionBigEndian = 0x1;
        /// <summary>Xen's REC_LENGTH_MAX: bodies longer than this are refused.</summary>
        public const int MaxRecordLength = Limits.MaxRecordLength;
        /// <summary>Page size of x86 guests.</summary>
        public const int PageSize = 4096;
        /// <summary>The writer's MAX_BATCH_SIZE: PFNs per PAGE_DATA record.</summary>
        public const int MaxBatchSize = 1024;

        /// <summary>PFN bits of a PAGE_DATA word.</summary>
        public const ulong PfnMask = 0x000FFFFFFFFFFFFFUL;
        /// <summary>Reserved bits 52-59 of a PAGE_DATA word.</summary>
        public const ulong PfnReservedMask = 0x0FF0000000000000UL;
        /// <summary>Type bits 60-63 of a PAGE_DATA word.</summary>
        public const int PageTypeShift = 60;

        /// <summary>Size of an X86_PV_VCPU_BASIC context for a 64-bit guest.</summary>
        public const int VcpuBasicSize64 = 0x1430;
        /// <summary>Size of an X86_PV_VCPU_BASIC context for a 32-bit guest.</summary>
        public const int VcpuBasicSize32 = 0xAF0;

        /// <summary>Optional-record bit.</summary>
        public const uint OptionalBit = 0x80000000;

#pragma warning disable CS1591 // the names are Xen's, documented in docs/formats §3.3
        public const uint End = 0x00;
        public const uint PageData = 0x01;
        public const uint X86PvInfo = 0x02;
        public const uint X86PvP2mFrames = 0x03;
        public const uint X86PvVcpuBasic = 0x04;
        public const uint X86PvVcpuExtended = 0x05;
        public const uint X86PvVcpuXsave = 0x06;
        public const uint SharedInfo = 0x07;
        public const uint X86TscInfo = 0x08;
        public const uint HvmContext = 0x09;
        public const uint HvmParams = 0x0A;
        public const uint Toolstack = 0x0B;
        public const uint X86PvVcpuMsrs = 0x0C;
        public const uint Verify = 0x0D;
        public const uint Checkpoint = 0x0E;
        public const uint CheckpointDirtyPfnList = 0x0F;
        public const uint StaticDataEnd = 0x10;
        public const uint X86CpuidPolicy = 0x11;
        public const uint X86MsrPolicy = 0x12;
#pragma warning restore CS1591

        private static readonly string[] s_names =
        {
            "END", "PAGE_DATA", "X86_PV_INFO", "X86_PV_P2M_FRAMES", "X86_PV_VCPU_BASIC", "X86_PV_VCPU_EXTENDED",
            "X86_PV_VCPU_XSAVE", "SHARED_INFO", "X86_TSC_INFO", "HVM_CONTEXT", "HVM_PARAMS", "TOOLSTACK",
            "X86_PV_VCPU_MSRS", "VERIFY", "CHECKPOINT", "CHECKPOINT_DIRTY_PFN_LIST", "STATIC_DATA_END",
            "X86_CPUID_POLICY", "X86_MSR_POLICY",
        };

        private static readonly XenRecordType[] s_types =
        {
            XenRecordType.End, XenRecordType.PageData, XenRecordType.PvInfo, XenRecordType.PvP2mFrames,
            XenRecordType.PvVcpuBasic, XenRecordType.PvVcpuExtended, XenRecordType.PvVcpuXsave, XenRecordType.SharedInfo,
            XenRecordType.TscInfo, XenRecordType.HvmContext, XenRecordType.HvmParams, XenRecordType.Toolstack,
            XenRecordType.PvVcpuMsrs, XenRecordType.Verify, XenRecordType.Checkpoint, XenRecordType.CheckpointDirtyPfnList,
            XenRecordType.StaticDataEnd, XenRecordType.CpuidPolicy, XenRecordType.MsrPolicy,
        };

        /// <summary>Whether an input starts like a bare libxc stream: the all-ones marker (or a prefix of it).</summary>
        internal static bool Probe(ReadOnlySpan<byte> head)
        {
            int n = Math.Min(head.Length, 8);
            for (int i = 0; i < n; i++)
            {
                if (head[i] != 0xFF)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The record type a libxc type code means, or <see cref="XenRecordType.Unknown"/>.</summary>
        public static XenRecordType TypeOf(uint code) => code < s_types.Length ? s_types[code] : XenRecordType.Unknown;

        /// <summary>Xen's name of a libxc type code (as used in messages).</summary>
        public static string NameOf(uint code) => code < s_names.Length
            ? s_names[code]
            : "libxc record type 0x" + code.ToString("X8", CultureInfo.InvariantCulture);

        /// <summary>Whether pages of this type carry 4096 bytes of data in PAGE_DATA.</summary>
        public static bool HasData(XenPageType type) => (byte)type <= 0x4 || ((byte)type >= 0x9 && (byte)type <= 0xC);

        /// <summary>Whether a page-type nibble is defined (5-8 are reserved and invalid).</summary>
        public static bool IsValidPageType(int nibble) => nibble <= 0x4 || nibble >= 0x9;

        /// <summary>Encodes a PAGE_DATA word.</summary>
        internal static ulong EncodePfn(ulong pfn, XenPageType type) => ((ulong)type << PageTypeShift) | (pfn & PfnMask);

        /// <summary>
        /// Encodes the fixed part of a PAGE_DATA body (count, reserved, PFN words); the page contents
        /// follow it, one page for every word whose type carries data.
        /// </summary>
        internal static byte[] EncodePageDataHeader(IReadOnlyList<ulong> pfnWords)
        {
            var b = new ByteBuilder(8 + (8 * pfnWords.Count)).U32((uint)pfnWords.Count).U32(0);
            foreach (ulong word in pfnWords)
            {
                b.U64(word);
            }

            return b.ToArray();
        }

        /// <summary>Number of data pages the PFN words announce.</summary>
        public static int CountDataPages(IReadOnlyList<ulong> pfnWords)
        {
            int n = 0;
            foreach (ulong word in pfnWords)
            {
                if (HasData((XenPageType)(word >> PageTypeShift)))
                {
                    n++;
                }
            }

            return n;
        }

        /// <summary>Encodes the 24-byte image header (always big-endian).</summary>
        internal static byte[] EncodeImageHeader(uint version = 3, ushort options = 0) =>
            new ByteBuilder(ImageHeaderSize, bigEndian: true).U64(Marker).U32(Id).U32(version).U16(options).U16(0).U32(0).ToArray();

        /// <summary>Encodes the 16-byte domain header.</summary>
        internal static byte[] EncodeDomainHeader(XenGuestType type, uint xenMajor, uint xenMinor, ushort pageShift = 12) =>
            new ByteBuilder(DomainHeaderSize).U32((uint)type).U16(pageShift).U16(0).U32(xenMajor).U32(xenMinor).ToArray();

        /// <summary>Encodes X86_PV_INFO.</summary>
        internal static byte[] EncodePvInfo(byte guestWidth, byte ptLevels) =>
            new ByteBuilder(8).U8(guestWidth).U8(ptLevels).Zeros(6).ToArray();

        /// <summary>Encodes X86_PV_P2M_FRAMES.</summary>
        internal static byte[] EncodeP2mFrames(uint startPfn, uint endPfn, IReadOnlyList<ulong> frames)
        {
            var b = new ByteBuilder(8 + (8 * frames.Count)).U32(startPfn).U32(endPfn);
            foreach (ulong f in frames)
            {
                b.U64(f);
            }

            return b.ToArray();
        }

        /// <summary>Encodes an X86_PV_VCPU_* body: vcpu id, reserved, context blob.</summary>
        internal static byte[] EncodeVcpu(uint vcpuId, ReadOnlySpan<byte> context) =>
            new ByteBuilder(8 + context.Length).U32(vcpuId).U32(0).Bytes(context).ToArray();

        /// <summary>Encodes X86_TSC_INFO.</summary>
        internal static byte[] EncodeTscInfo(TscMode mode, uint khz, ulong nsec, uint incarnation) =>
            new ByteBuilder(24).U32((uint)mode).U32(khz).U64(nsec).U32(incarnation).U32(0).ToArray();

        /// <summary>Encodes HVM_PARAMS.</summary>
        internal static byte[] EncodeHvmParams(IReadOnlyList<KeyValuePair<ulong, ulong>> indexValuePairs)
        {
            var b = new ByteBuilder(8 + (16 * indexValuePairs.Count)).U32((uint)indexValuePairs.Count).U32(0);
            foreach (KeyValuePair<ulong, ulong> p in indexValuePairs)
            {
                b.U64(p.Key).U64(p.Value);
            }

            return b.ToArray();
        }

        /// <summary>Encodes CHECKPOINT_DIRTY_PFN_LIST.</summary>
        internal static byte[] EncodeDirtyPfnList(IReadOnlyList<ulong> pfns)
        {
            var b = new ByteBuilder(8 * pfns.Count);
            foreach (ulong p in pfns)
            {
                b.U64(p);
            }

            return b.ToArray();
        }

        /// <summary>Encodes X86_CPUID_POLICY.</summary>
        internal static byte[] EncodeCpuidPolicy(IReadOnlyList<CpuidLeaf> leaves)
        {
            var b = new ByteBuilder(24 * leaves.Count);
            foreach (CpuidLeaf l in leaves)
            {
                b.U32(l.Leaf).U32(l.Subleaf).U32(l.Eax).U32(l.Ebx).U32(l.Ecx).U32(l.Edx);
            }

            return b.ToArray();
        }

        /// <summary>Encodes X86_MSR_POLICY.</summary>
        internal static byte[] EncodeMsrPolicy(IReadOnlyList<MsrEntry> entries)
        {
            var b = new ByteBuilder(16 * entries.Count);
            foreach (MsrEntry e in entries)
            {
                b.U32(e.Index).U32(e.Flags).U64(e.Value);
            }

            return b.ToArray();
        }
    }
}
