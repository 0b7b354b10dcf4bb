using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;
using XenMigration.X86;

namespace XenMigration.Libxc
{
    /// <summary>
    /// The decoded blob of an X86_PV_VCPU_* record (docs/formats §3.7): read with
    /// <see cref="PvVcpuRecord.ReadContext"/>.
    /// </summary>
    public abstract class PvVcpuContext
    {
        private protected PvVcpuContext(PvVcpuRecord record)
        {
            FilePath = record.FilePath;
            VcpuId = record.VcpuId;
            Offset = record.PayloadOffset;
            Length = record.PayloadLength;
        }

        /// <summary>The file the record was read from.</summary>
        public string? FilePath { get; }
        /// <summary>The vCPU.</summary>
        public uint VcpuId { get; }
        /// <summary>Offset of the blob in the file.</summary>
        public long Offset { get; }
        /// <summary>Bytes of the blob.</summary>
        public long Length { get; }

        internal static PvVcpuContext Decode(PvVcpuRecord record, byte[] blob)
        {
            int need = record.Type switch
            {
                XenRecordType.PvVcpuBasic => (record.GuestWidth ?? (blob.Length == 5168 ? 8 : 4)) == 8 ? 5168 : 2800,
                XenRecordType.PvVcpuExtended => 30,
                XenRecordType.PvVcpuMsrs => 0,
                _ => 16,
            };
            bool exact = record.Type == XenRecordType.PvVcpuBasic;
            if ((exact ? blob.Length != need : blob.Length < need) || (record.Type == XenRecordType.PvVcpuMsrs && blob.Length % 16 != 0))
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The {0} blob of vCPU {1} at offset 0x{2:X} is {3} bytes; its layout {4}.", record.Type, record.VcpuId, record.PayloadOffset, blob.Length, record.Type == XenRecordType.PvVcpuMsrs ? "is a multiple of 16 bytes" : (exact ? "is " : "needs at least ") + need.ToString(CultureInfo.InvariantCulture) + " bytes"), record.PayloadOffset, record.Index, record.Type.ToString());
            }

            try
            {
                return record.Type switch
                {
                    XenRecordType.PvVcpuBasic => new PvVcpuBasicContext(record, blob),
                    XenRecordType.PvVcpuExtended => new PvVcpuExtendedContext(record, blob),
                    XenRecordType.PvVcpuMsrs => new PvVcpuMsrsContext(record, blob),
                    _ => new PvVcpuXsaveContext(record, blob),
                };
            }
            catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException)
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The {0} blob of vCPU {1} at offset 0x{2:X} is {3} bytes, too short for its layout.", record.Type, record.VcpuId, record.PayloadOffset, blob.Length), record.PayloadOffset, record.Index, record.Type.ToString());
            }
        }

        private protected static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at, 8));
        private protected static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at, 4));
        private protected static ushort U16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at, 2));
    }

    /// <summary>A virtual IDT entry of a PV guest (trap_info).</summary>
    public sealed class PvTrapInfo
    {
        internal PvTrapInfo(byte vector, byte flags, ushort cs, ulong address) { Vector = vector; Flags = flags; Cs = cs; Address = address; }
#pragma warning disable CS1591
        public byte Vector { get; }
        public byte Flags { get; }
        public ushort Cs { get; }
        public ulong Address { get; }
#pragma warning restore CS1591
        /// <summary>The privilege level that may raise the trap with INT (flags bits 0-1).</summary>
        public int Dpl => Flags & 3;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "vector {0}: {1:x4}:{2:x}", Vector, Cs, Address);
    }

    /// <summary>
    /// X86_PV_VCPU_BASIC: Xen's vcpu_guest_context, 5168 bytes for a 64-bit guest, 2800 for a
    /// 32-bit one (the width comes from X86_PV_INFO, or from the blob's length).
    /// </summary>
    public sealed class PvVcpuBasicContext : PvVcpuContext
    {
        internal PvVcpuBasicContext(PvVcpuRecord record, byte[] b)
            : base(record)
        {
            Is64Bit = record.GuestWidth is int w ? w == 8 : b.Length == 5168;
            int L = Is64Bit ? 8 : 4;
            ulong Long(int at) => L == 8 ? U64(b, at) : U32(b, at);
            int p = 512;
            Flags = Long(p);
            p += L;
            int regs = p;
            if (Is64Bit)
            {
                R15 = U64(b, regs); R14 = U64(b, regs + 8); R13 = U64(b, regs + 16); R12 = U64(b, regs + 24); Rbp = U64(b, regs + 32);
                Rbx = U64(b, regs + 40); R11 = U64(b, regs + 48); R10 = U64(b, regs + 56); R9 = U64(b, regs + 64); R8 = U64(b, regs + 72);
                Rax = U64(b, regs + 80); Rcx = U64(b, regs + 88); Rdx = U64(b, regs + 96); Rsi = U64(b, regs + 104); Rdi = U64(b, regs + 112);
                ErrorCode = U32(b, regs + 120); EntryVector = U32(b, regs + 124);
                Rip = U64(b, regs + 128); Cs = U16(b, regs + 136); SavedUpcallMask = b[regs + 140];
                Rflags = U64(b, regs + 144); Rsp = U64(b, regs + 152);
                Ss = U16(b, regs + 160); Es = U16(b, regs + 168); Ds = U16(b, regs + 176); Fs = U16(b, regs + 184); Gs = U16(b, regs + 192);
                p = regs + 200;
            }
            else
            {
                Rbx = U32(b, regs); Rcx = U32(b, regs + 4); Rdx = U32(b, regs + 8); Rsi = U32(b, regs + 12); Rdi = U32(b, regs + 16);
                Rbp = U32(b, regs + 20); Rax = U32(b, regs + 24); ErrorCode = U16(b, regs + 28); EntryVector = U16(b, regs + 30);
                Rip = U32(b, regs + 32); Cs = U16(b, regs + 36); SavedUpcallMask = b[regs + 38];
                Rflags = U32(b, regs + 40); Rsp = U32(b, regs + 44);
                Ss = U16(b, regs + 48); Es = U16(b, regs + 52); Ds = U16(b, regs + 56); Fs = U16(b, regs + 60); Gs = U16(b, regs + 64);
                p = regs + 68;
            }

            var traps = new List<PvTrapInfo>();
            int trapSize = Is64Bit ? 16 : 8;
            for (int i = 0; i < 256; i++, p += trapSize)
            {
                ulong address = Is64Bit ? U64(b, p + 8) : U32(b, p + 4);
                if (address != 0 || b[p] != 0)
                {
                    traps.Add(new PvTrapInfo(b[p], b[p + 1], U16(b, p + 2), address));
                }
            }

            TrapTable = traps.AsReadOnly();
            LdtBase = Long(p); LdtEntries = Long(p + L); p += 2 * L;
            ulong[] gdt = new ulong[16];
            for (int i = 0; i < 16; i++, p += L)
            {
                gdt[i] = Long(p);
            }

            GdtFrames = new System.Collections.ObjectModel.ReadOnlyCollection<ulong>(gdt);
            GdtEntries = Long(p); p += L;
            KernelSs = Long(p); KernelSp = Long(p + L); p += 2 * L;
            ulong[] cr = new ulong[8];
            for (int i = 0; i < 8; i++, p += L)
            {
                cr[i] = Long(p);
            }

            ControlRegisters = new System.Collections.ObjectModel.ReadOnlyCollection<ulong>(cr);
            ulong[] dr = new ulong[8];
            for (int i = 0; i < 8; i++, p += L)
            {
                dr[i] = Long(p);
            }

            DebugRegisters = new System.Collections.ObjectModel.ReadOnlyCollection<ulong>(dr);
            if (Is64Bit)
            {
                EventCallbackEip = U64(b, p); FailsafeCallbackEip = U64(b, p + 8); SyscallCallbackEip = U64(b, p + 16);
                VmAssist = U64(b, p + 24); FsBase = U64(b, p + 32); GsBaseKernel = U64(b, p + 40); GsBaseUser = U64(b, p + 48);
            }
            else
            {
                EventCallbackCs = U32(b, p); EventCallbackEip = U32(b, p + 4); FailsafeCallbackCs = U32(b, p + 8); FailsafeCallbackEip = U32(b, p + 12);
                VmAssist = U32(b, p + 16);
            }

            // A PV guest saves selectors only; its CR3 is in Xen's frame encoding (see Cr3Pfn).
            X86Segment Sel(ushort s) => new X86Segment(s, 0, 0, 0);
            Registers = new X86Registers
            {
                Vcpu = VcpuId,
                Rax = Rax, Rbx = Rbx, Rcx = Rcx, Rdx = Rdx, Rsi = Rsi, Rdi = Rdi, Rbp = Rbp, Rsp = Rsp,
                R8 = R8, R9 = R9, R10 = R10, R11 = R11, R12 = R12, R13 = R13, R14 = R14, R15 = R15,
                Rip = Rip, Rflags = Rflags, Cr0 = cr[0], Cr2 = cr[2], Cr3 = cr[3], Cr4 = cr[4], Dr6 = dr[6], Dr7 = dr[7],
                Cs = Sel(Cs), Ds = Sel(Ds), Es = Sel(Es), Fs = Sel(Fs), Gs = Sel(Gs), Ss = Sel(Ss),
                FsBase = FsBase, GsBase = InKernel ? GsBaseKernel : GsBaseUser, KernelGsBase = InKernel ? GsBaseUser : GsBaseKernel,
                Is64Bit = Is64Bit,
                Mode = "PV",
            };
        }

        /// <summary>The architectural registers, in the type every source of vCPU state shares.</summary>
        public X86Registers Registers { get; }

        /// <summary>The vCPU.</summary>
        public uint Vcpu => VcpuId;

        /// <summary>The CPU mode, as the shared register view shows it (see <see cref="X86Registers.Mode"/>).</summary>
        public string Mode => Registers.Mode;

        /// <summary>True for a 64-bit guest's layout.</summary>
        public bool Is64Bit { get; }
        /// <summary>VGCF_* flags (bit 0 I387 valid, bit 1 in kernel, bit 2 failsafe disables events, ...).</summary>
        public ulong Flags { get; }
        /// <summary>VGCF_in_kernel: the vCPU was in guest kernel mode.</summary>
        public bool InKernel => (Flags & 4) != 0;
#pragma warning disable CS1591 // register names are their documentation
        public ulong Rax { get; }
        public ulong Rbx { get; }
        public ulong Rcx { get; }
        public ulong Rdx { get; }
        public ulong Rsi { get; }
        public ulong Rdi { get; }
        public ulong Rbp { get; }
        public ulong Rsp { get; }
        public ulong R8 { get; }
        public ulong R9 { get; }
        public ulong R10 { get; }
        public ulong R11 { get; }
        public ulong R12 { get; }
        public ulong R13 { get; }
        public ulong R14 { get; }
        public ulong R15 { get; }
        public ulong Rip { get; }
        public ulong Rflags { get; }
        public ushort Cs { get; }
        public ushort Ss { get; }
        public ushort Ds { get; }
        public ushort Es { get; }
        public ushort Fs { get; }
        public ushort Gs { get; }
        public uint ErrorCode { get; }
        public uint EntryVector { get; }
        public byte SavedUpcallMask { get; }
        public ulong LdtBase { get; }
        public ulong LdtEntries { get; }
        public IReadOnlyList<ulong> GdtFrames { get; }
        public ulong GdtEntries { get; }
        public ulong KernelSs { get; }
        public ulong KernelSp { get; }
        public ulong EventCallbackEip { get; }
        public ulong EventCallbackCs { get; }
        public ulong FailsafeCallbackEip { get; }
        public ulong FailsafeCallbackCs { get; }
        public ulong SyscallCallbackEip { get; }
        public ulong VmAssist { get; }
        public ulong FsBase { get; }
        public ulong GsBaseKernel { get; }
        public ulong GsBaseUser { get; }
#pragma warning restore CS1591
        /// <summary>The non-empty entries of the virtual IDT.</summary>
        public IReadOnlyList<PvTrapInfo> TrapTable { get; }
        /// <summary>CR0-CR7 as Xen stores them (CR1 holds the user page table on 64-bit guests).</summary>
        public IReadOnlyList<ulong> ControlRegisters { get; }
        /// <summary>DR0-DR7.</summary>
        public IReadOnlyList<ulong> DebugRegisters { get; }
        /// <summary>CR3 as stored: a frame number in Xen's CR3 encoding.</summary>
        public ulong Cr3 => ControlRegisters[3];
        /// <summary>The page-table base frame of CR3 (xen_cr3_to_pfn: 64-bit shifts, 32-bit PAE folds the high bits).</summary>
        public ulong Cr3Pfn => Is64Bit ? Cr3 >> 12 : (Cr3 >> 12) | ((Cr3 & 0xFFF) << 20);

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "vcpu{0} {1}-bit: rip 0x{2:x}, rsp 0x{3:x}, cr3 pfn 0x{4:x}", VcpuId, Is64Bit ? 64 : 32, Rip, Rsp, Cr3Pfn);
    }

    /// <summary>X86_PV_VCPU_EXTENDED: xen_domctl_ext_vcpucontext (SYSCALL32/SYSENTER callbacks, MCE capabilities).</summary>
    public sealed class PvVcpuExtendedContext : PvVcpuContext
    {
        internal PvVcpuExtendedContext(PvVcpuRecord record, byte[] b)
            : base(record)
        {
            Size = U32(b, 4);
            Syscall32CallbackEip = U64(b, 8);
            SysenterCallbackEip = U64(b, 16);
            Syscall32CallbackCs = U16(b, 24);
            SysenterCallbackCs = U16(b, 26);
            Syscall32DisablesEvents = b[28] != 0;
            SysenterDisablesEvents = b[29] != 0;
            if (b.Length >= 40)
            {
                McgCap = U64(b, 32);
            }
        }

#pragma warning disable CS1591
        public uint Size { get; }
        public ulong Syscall32CallbackEip { get; }
        public ulong SysenterCallbackEip { get; }
        public ushort Syscall32CallbackCs { get; }
        public ushort SysenterCallbackCs { get; }
        public bool Syscall32DisablesEvents { get; }
        public bool SysenterDisablesEvents { get; }
        public ulong? McgCap { get; }
#pragma warning restore CS1591
    }

    /// <summary>X86_PV_VCPU_MSRS: the vCPU's MSRs, with their names.</summary>
    public sealed class PvVcpuMsrsContext : PvVcpuContext
    {
        internal PvVcpuMsrsContext(PvVcpuRecord record, byte[] b)
            : base(record)
        {
            if (b.Length % 16 != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(b));
            }

            var msrs = new List<X86Msr>(b.Length / 16);
            for (int p = 0; p < b.Length; p += 16)
            {
                msrs.Add(new X86Msr(U32(b, p), U32(b, p + 4), U64(b, p + 8)));
            }

            Msrs = ReadOnlyView.Of(msrs);
        }

        /// <summary>The MSRs.</summary>
        public IReadOnlyList<X86Msr> Msrs { get; }
    }

    /// <summary>X86_PV_VCPU_XSAVE: XCR0, XCR0_ACCUM and the XSAVE area's header.</summary>
    public sealed class PvVcpuXsaveContext : PvVcpuContext
    {
        internal PvVcpuXsaveContext(PvVcpuRecord record, byte[] b)
            : base(record)
        {
            Xcr0 = U64(b, 0);
            Xcr0Accum = U64(b, 8);
            if (b.Length >= 16 + 512 + 16)
            {
                XstateBv = U64(b, 16 + 512);
                XcompBv = U64(b, 16 + 512 + 8);
            }

            Components = ReadOnlyView.Of(X86Xsave.Components(Xcr0, Xcr0Accum, XstateBv));
        }

#pragma warning disable CS1591
        public ulong Xcr0 { get; }
        public ulong Xcr0Accum { get; }
        public ulong XstateBv { get; }
        public ulong XcompBv { get; }
#pragma warning restore CS1591
        /// <summary>The components of XCR0 | XCR0_ACCUM.</summary>
        public IReadOnlyList<X86XsaveComponent> Components { get; }
    }
}
