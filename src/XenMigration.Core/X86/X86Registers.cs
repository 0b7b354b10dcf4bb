using System.Globalization;

namespace XenMigration.X86
{
    /// <summary>
    /// An x86 segment register: selector, base, limit and access attributes. The attributes keep the
    /// encoding of the state they come from (Xen HVM: VMX "arbytes"; QEMU: the descriptor's high-word
    /// flags; PV guests save selectors only).
    /// </summary>
    public sealed class X86Segment
    {
        internal X86Segment(uint selector, ulong @base, uint limit, uint attributes)
        {
            Selector = selector;
            Base = @base;
            Limit = limit;
            Attributes = attributes;
        }

        /// <summary>The selector.</summary>
        public uint Selector { get; }

        /// <summary>The base address.</summary>
        public ulong Base { get; }

        /// <summary>The limit.</summary>
        public uint Limit { get; }

        /// <summary>Access attributes, in the encoding of the state they come from.</summary>
        public uint Attributes { get; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0:x4} base {1:x} limit {2:x} attr {3:x}", Selector, Base, Limit, Attributes);
    }

    /// <summary>
    /// One vCPU's architectural registers, whatever saved them: an HVM context's CPU entry, a PV
    /// vCPU's basic state, or QEMU's cpu section. Register dumps, comparisons and the ELF core's
    /// NT_PRSTATUS notes all read this one type.
    /// </summary>
    public sealed class X86Registers
    {
        /// <summary>The vCPU number.</summary>
        public uint Vcpu { get; internal set; }
#pragma warning disable CS1591 // register names are their documentation
        public ulong Rax { get; internal set; }
        public ulong Rbx { get; internal set; }
        public ulong Rcx { get; internal set; }
        public ulong Rdx { get; internal set; }
        public ulong Rsi { get; internal set; }
        public ulong Rdi { get; internal set; }
        public ulong Rbp { get; internal set; }
        public ulong Rsp { get; internal set; }
        public ulong R8 { get; internal set; }
        public ulong R9 { get; internal set; }
        public ulong R10 { get; internal set; }
        public ulong R11 { get; internal set; }
        public ulong R12 { get; internal set; }
        public ulong R13 { get; internal set; }
        public ulong R14 { get; internal set; }
        public ulong R15 { get; internal set; }
        public ulong Rip { get; internal set; }
        public ulong Rflags { get; internal set; }
        public ulong Cr0 { get; internal set; }
        public ulong Cr2 { get; internal set; }
        public ulong Cr3 { get; internal set; }
        public ulong Cr4 { get; internal set; }
        public ulong Efer { get; internal set; }
        public ulong Dr6 { get; internal set; }
        public ulong Dr7 { get; internal set; }
        public X86Segment? Cs { get; internal set; }
        public X86Segment? Ds { get; internal set; }
        public X86Segment? Es { get; internal set; }
        public X86Segment? Fs { get; internal set; }
        public X86Segment? Gs { get; internal set; }
        public X86Segment? Ss { get; internal set; }
        public X86Segment? Tr { get; internal set; }
        public X86Segment? Ldtr { get; internal set; }
        public X86Segment? Gdtr { get; internal set; }
        public X86Segment? Idtr { get; internal set; }
        /// <summary>FS base (the FS segment's base, or a PV guest's fs_base).</summary>
        public ulong FsBase { get; internal set; }
        /// <summary>GS base in the current mode.</summary>
        public ulong GsBase { get; internal set; }
        /// <summary>The other GS base (SWAPGS; KERNEL_GS_BASE).</summary>
        public ulong KernelGsBase { get; internal set; }
#pragma warning restore CS1591

        /// <summary>True when the registers are those of a 64-bit mode (PV: a 64-bit guest; HVM and QEMU: EFER.LMA).</summary>
        public bool Is64Bit { get; internal set; }

        /// <summary>Real, Protected or Long (CR0.PE and EFER.LMA); "PV" for a PV guest, which has no such mode.</summary>
        public string Mode { get; internal set; } = string.Empty;

        /// <summary>Real, Protected or Long from CR0 and EFER.</summary>
        internal static string ModeOf(ulong cr0, ulong efer) => (cr0 & 1) == 0 ? "Real" : (efer & 0x400) != 0 ? "Long" : "Protected";

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "vcpu{0} {1}: rip 0x{2:x}, rsp 0x{3:x}, cr3 0x{4:x}", Vcpu, Mode, Rip, Rsp, Cr3);
    }
}
