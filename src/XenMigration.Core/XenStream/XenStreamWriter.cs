using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Xl;

namespace XenMigration.XenStream
{
    /// <summary>
    /// Writes Xen save images: the xl header, libxl and libxc headers, and records of both layers
    /// with their padding. It writes exactly what it is told, in the order it is told (so tests can
    /// build malformed streams too); the typed helpers encode bodies the way Xen's writers do.
    /// </summary>
    public sealed class XenStreamWriter : IDisposable
    {
        private readonly Stream _output;
        private readonly bool _leaveOpen;
        private readonly FramedRecordWriter _frames;

        /// <summary>Creates a writer appending to <paramref name="output"/>.</summary>
        public XenStreamWriter(Stream output, bool leaveOpen = false, long maxRecordLength = LibxcFormat.MaxRecordLength)
        {
            _output = output ?? throw new ArgumentNullException(nameof(output));
            _leaveOpen = leaveOpen;
            _frames = new FramedRecordWriter(output, maxRecordLength);
        }

        /// <summary>Bytes written so far.</summary>
        public long Position => _frames.Position;

        /// <summary>The framing writer, for streaming a body in pieces.</summary>
        internal FramedRecordWriter Frames => _frames;

        /// <summary>Writes raw bytes.</summary>
        public void WriteRaw(ReadOnlySpan<byte> bytes) => _frames.WriteRaw(bytes);

        /// <summary>Writes raw bytes (an overload PowerShell scripts can call: they cannot pass spans).</summary>
        public void WriteRaw(byte[] bytes) => _frames.WriteRaw(bytes);

        /// <summary>Writes a record of any type.</summary>
        public void WriteRecord(uint type, byte[] body) => _frames.WriteRecord(type, body);

        /// <summary>Writes a libxc PAGE_DATA record (array overload for scripts).</summary>
        public void WritePageData(IReadOnlyList<ulong> pfnWords, byte[] pages) => WritePageData(pfnWords, new ReadOnlySpan<byte>(pages));

        /// <summary>Writes HVM_CONTEXT (array overload for scripts).</summary>
        public void WriteHvmContext(byte[] blob) => WriteRecord(LibxcFormat.HvmContext, blob);

        /// <summary>Writes SHARED_INFO (array overload for scripts).</summary>
        public void WriteSharedInfo(byte[] page) => WriteRecord(LibxcFormat.SharedInfo, page);

        /// <summary>Writes one of the X86_PV_VCPU_* records (array overload for scripts).</summary>
        public void WritePvVcpu(uint type, uint vcpuId, byte[] context) => WritePvVcpu(type, vcpuId, new ReadOnlySpan<byte>(context));

        /// <summary>Writes libxl EMULATOR_CONTEXT (array overload for scripts).</summary>
        public void WriteEmulatorContext(EmulatorKind emulator, uint index, byte[] state) => WriteEmulatorContext(emulator, index, new ReadOnlySpan<byte>(state));

        /// <summary>Writes an xl save-file header as xl does.</summary>
        public void WriteXlHeader(XlMandatoryFlags flags, string? config, bool bigEndian = false) =>
            _frames.WriteRaw(XlFormat.Encode(flags, config, bigEndian));

        /// <summary>Writes a libxl stream header.</summary>
        public void WriteLibxlHeader(uint options = 0) => _frames.WriteRaw(LibxlFormat.EncodeHeader(options));

        /// <summary>Writes a libxc image header.</summary>
        public void WriteImageHeader(uint version = 3, ushort options = 0) => _frames.WriteRaw(LibxcFormat.EncodeImageHeader(version, options));

        /// <summary>Writes a libxc domain header.</summary>
        public void WriteDomainHeader(XenGuestType type, uint xenMajor, uint xenMinor, ushort pageShift = 12) =>
            _frames.WriteRaw(LibxcFormat.EncodeDomainHeader(type, xenMajor, xenMinor, pageShift));

        /// <summary>Writes a record of any type (libxl and libxc share the framing).</summary>
        public void WriteRecord(uint type, ReadOnlySpan<byte> body) => _frames.WriteRecord(type, body);

        /// <summary>Writes a record with an empty body (END, LIBXC_CONTEXT, STATIC_DATA_END, ...).</summary>
        public void WriteEmptyRecord(uint type) => _frames.WriteRecord(type, ReadOnlySpan<byte>.Empty);

        /// <summary>Writes a libxc PAGE_DATA record: the PFN words, then one page per data-carrying word.</summary>
        public void WritePageData(IReadOnlyList<ulong> pfnWords, ReadOnlySpan<byte> pages)
        {
            int dataPages = LibxcFormat.CountDataPages(pfnWords);
            if (pages.Length != dataPages * LibxcFormat.PageSize)
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "{0} data pages need {1} bytes of contents, not {2}.", dataPages, dataPages * LibxcFormat.PageSize, pages.Length), nameof(pages));
            }

            byte[] head = LibxcFormat.EncodePageDataHeader(pfnWords);
            _frames.BeginRecord(LibxcFormat.PageData, (long)head.Length + pages.Length);
            _frames.WriteBody(head);
            _frames.WriteBody(pages);
            _frames.EndRecord();
        }

        /// <summary>Writes X86_PV_INFO.</summary>
        public void WritePvInfo(byte guestWidth, byte ptLevels) => WriteRecord(LibxcFormat.X86PvInfo, LibxcFormat.EncodePvInfo(guestWidth, ptLevels));

        /// <summary>Writes X86_PV_P2M_FRAMES.</summary>
        public void WriteP2mFrames(uint startPfn, uint endPfn, IReadOnlyList<ulong> frames) =>
            WriteRecord(LibxcFormat.X86PvP2mFrames, LibxcFormat.EncodeP2mFrames(startPfn, endPfn, frames));

        /// <summary>Writes one of the X86_PV_VCPU_* records.</summary>
        public void WritePvVcpu(uint type, uint vcpuId, ReadOnlySpan<byte> context)
        {
            if (type != LibxcFormat.X86PvVcpuBasic && type != LibxcFormat.X86PvVcpuExtended && type != LibxcFormat.X86PvVcpuXsave && type != LibxcFormat.X86PvVcpuMsrs)
            {
                throw new ArgumentOutOfRangeException(nameof(type), "Not an X86_PV_VCPU_* type.");
            }

            WriteRecord(type, LibxcFormat.EncodeVcpu(vcpuId, context));
        }

        /// <summary>Writes SHARED_INFO.</summary>
        public void WriteSharedInfo(ReadOnlySpan<byte> page) => WriteRecord(LibxcFormat.SharedInfo, page);

        /// <summary>Writes X86_TSC_INFO.</summary>
        public void WriteTscInfo(TscMode mode, uint khz, ulong nsec, uint incarnation) =>
            WriteRecord(LibxcFormat.X86TscInfo, LibxcFormat.EncodeTscInfo(mode, khz, nsec, incarnation));

        /// <summary>Writes HVM_CONTEXT.</summary>
        public void WriteHvmContext(ReadOnlySpan<byte> blob) => WriteRecord(LibxcFormat.HvmContext, blob);

        /// <summary>Writes HVM_PARAMS.</summary>
        public void WriteHvmParams(IReadOnlyList<KeyValuePair<ulong, ulong>> indexValuePairs) =>
            WriteRecord(LibxcFormat.HvmParams, LibxcFormat.EncodeHvmParams(indexValuePairs));

        /// <summary>Writes CHECKPOINT_DIRTY_PFN_LIST.</summary>
        public void WriteDirtyPfnList(IReadOnlyList<ulong> pfns) => WriteRecord(LibxcFormat.CheckpointDirtyPfnList, LibxcFormat.EncodeDirtyPfnList(pfns));

        /// <summary>Writes X86_CPUID_POLICY.</summary>
        public void WriteCpuidPolicy(IReadOnlyList<CpuidLeaf> leaves) => WriteRecord(LibxcFormat.X86CpuidPolicy, LibxcFormat.EncodeCpuidPolicy(leaves));

        /// <summary>Writes X86_MSR_POLICY.</summary>
        public void WriteMsrPolicy(IReadOnlyList<MsrEntry> entries) => WriteRecord(LibxcFormat.X86MsrPolicy, LibxcFormat.EncodeMsrPolicy(entries));

        /// <summary>Writes libxl EMULATOR_XENSTORE_DATA.</summary>
        public void WriteEmulatorXenstoreData(EmulatorKind emulator, uint index, IEnumerable<KeyValuePair<string, string>> pairs) =>
            WriteRecord(LibxlFormat.EmulatorXenstoreData, LibxlFormat.EncodeXenstoreData(emulator, index, pairs));

        /// <summary>Writes libxl EMULATOR_CONTEXT.</summary>
        public void WriteEmulatorContext(EmulatorKind emulator, uint index, ReadOnlySpan<byte> state)
        {
            _frames.BeginRecord(LibxlFormat.EmulatorContext, (long)LibxlFormat.EmulatorHeaderSize + state.Length);
            _frames.WriteBody(LibxlFormat.EncodeEmulatorHeader(emulator, index));
            _frames.WriteBody(state);
            _frames.EndRecord();
        }

        /// <summary>Writes libxl CHECKPOINT_STATE.</summary>
        public void WriteCheckpointState(CheckpointControl control) => WriteRecord(LibxlFormat.CheckpointState, LibxlFormat.EncodeCheckpointState(control));

        /// <summary>Flushes the output.</summary>
        public void Flush() => _output.Flush();

        /// <inheritdoc/>
        public void Dispose()
        {
            _output.Flush();
            if (!_leaveOpen)
            {
                _output.Dispose();
            }
        }
    }
}
