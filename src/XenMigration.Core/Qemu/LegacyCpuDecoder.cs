using System;
using System.Collections.Generic;

namespace XenMigration.Qemu
{
    /// <summary>
    /// The x86 <c>cpu</c> section of QEMU before VMState (versions 4-11, QEMU 0.10-0.13 and the
    /// RHEL 5/6 era of KVM): hand-written fields whose "long" registers are 4 or 8 bytes depending on
    /// whether QEMU was qemu-system-i386 or -x86_64, which the stream does not say (docs/formats §8.12).
    /// The layout is the one crash's loader reads; fields get the names VMState version 12 gives them,
    /// so <see cref="QemuCpuState"/> reads both. Versions 4-8 are read as saved without KVM (KVM added
    /// interrupt-bitmap fields the stream does not flag).
    /// </summary>
    internal static class LegacyCpuDecoder
    {
        public const int MinVersion = 4;
        public const int MaxVersion = 11;

        /// <summary>Decodes the body for a 64- or 32-bit QEMU; throws <see cref="VmStateDecoder.Failure"/> when the bytes end first.</summary>
        public static QemuVmState Decode(ReadOnlySpan<byte> body, long baseOffset, int version, int bits, out int consumed)
        {
            var r = new Cursor(body, baseOffset);
            int nregs = bits == 64 ? 16 : 8;
            int longSize = bits / 8;
            for (int i = 0; i < nregs; i++)
            {
                r.Int("env.regs", "uint" + bits, longSize, i);
            }

            r.Int("env.eip", "uint" + bits, longSize);
            r.Int("env.eflags", "uint" + bits, longSize);
            r.Int("env.hflags", "uint32", 4);
            r.Int("env.fpuc", "uint16", 2);
            r.Int("env.fpus_vmstate", "uint16", 2);
            r.Int("env.fptag_vmstate", "uint16", 2);
            ulong mmxFormat = r.Int("env.fpregs_format_vmstate", "uint16", 2);
            for (int i = 0; i < 8; i++)
            {
                r.Raw("env.fpregs", mmxFormat != 0 ? 8 : 10, i);   // MMX registers, or 80-bit floats
            }

            foreach (string seg in new[] { "env.segs", "env.segs", "env.segs", "env.segs", "env.segs", "env.segs", "env.ldt", "env.tr", "env.gdt", "env.idt" })
            {
                r.Segment(seg, longSize);
            }

            r.Int("env.sysenter_cs", "uint32", 4);
            int sysenterSize = version <= 6 ? 4 : longSize;
            r.Int("env.sysenter_esp", "uint" + (sysenterSize * 8), sysenterSize);
            r.Int("env.sysenter_eip", "uint" + (sysenterSize * 8), sysenterSize);
            foreach (string cr in new[] { "env.cr[0]", "env.cr[2]", "env.cr[3]", "env.cr[4]" })
            {
                r.Int(cr, "uint" + bits, longSize);
            }

            for (int i = 0; i < 8; i++)
            {
                r.Int("env.dr", "uint" + bits, longSize, i);
            }

            r.Int("env.a20_mask", "int32", 4);
            r.Int("env.mxcsr", "uint32", 4);
            for (int i = 0; i < nregs; i++)
            {
                r.Raw("env.xmm_regs", 16, i);
            }

            if (bits == 64)
            {
                foreach (string msr in new[] { "env.efer", "env.star", "env.lstar", "env.cstar", "env.fmask", "env.kernelgsbase" })
                {
                    r.Int(msr, "uint64", 8);
                }
            }

            r.Int("env.smbase", "uint32", 4);
            if (version >= 5)
            {
                r.Int("env.pat", "uint64", 8);
                r.Int("env.hflags2", "uint32", 4);
                if (version < 6)
                {
                    r.Int("halted", "uint32", 4);
                }

                foreach (string f in new[] { "env.vm_hsave", "env.vm_vmcb", "env.tsc_offset", "env.intercept" })
                {
                    r.Int(f, "uint64", 8);
                }

                foreach (string f in new[] { "env.intercept_cr_read", "env.intercept_cr_write", "env.intercept_dr_read", "env.intercept_dr_write" })
                {
                    r.Int(f, "uint16", 2);
                }

                r.Int("env.intercept_exceptions", "uint32", 4);
                r.Int("env.v_tpr", "uint8", 1);
            }

            if (version >= 8)
            {
                for (int i = 0; i < 11; i++)
                {
                    r.Int("env.mtrr_fixed", "uint64", 8, i);
                }

                r.Int("env.mtrr_deftype", "uint64", 8);
                for (int i = 0; i < 16; i++)
                {
                    r.Int("env.mtrr_var", "uint64", 8, i);   // base, mask pairs
                }
            }

            if (version >= 9)
            {
                r.Int("env.interrupt_injected", "int32", 4);
                r.Int("env.mp_state", "uint32", 4);
                r.Int("env.tsc", "uint64", 8);
            }

            if (version >= 11)
            {
                r.Int("env.exception_injected", "int32", 4);
                foreach (string f in new[] { "env.soft_interrupt", "env.nmi_injected", "env.nmi_pending", "env.has_error_code" })
                {
                    r.Int(f, "uint8", 1);
                }

                r.Int("env.sipi_vector", "uint32", 4);
            }

            if (version >= 10)
            {
                r.Int("env.mcg_cap", "uint64", 8);
                r.Int("env.mcg_status", "uint64", 8);
                r.Int("env.mcg_ctl", "uint64", 8);
                for (int i = 0; i < 40; i++)
                {
                    r.Int("env.mce_banks", "uint64", 8, i);
                }
            }

            if (version >= 11)
            {
                r.Int("env.tsc_aux", "uint64", 8);
                r.Int("env.system_time_msr", "uint64", 8);
                r.Int("env.wall_clock_msr", "uint64", 8);
            }

            consumed = r.Position;
            return new QemuVmState("cpu", version, baseOffset, consumed, r.Fields, Array.Empty<QemuVmState>());
        }

        private ref struct Cursor
        {
            private readonly ReadOnlySpan<byte> _body;
            private readonly long _base;

            public Cursor(ReadOnlySpan<byte> body, long baseOffset)
            {
                _body = body;
                _base = baseOffset;
                Position = 0;
                Fields = new List<QemuField>();
            }

            public int Position { get; private set; }

            public List<QemuField> Fields { get; }

            public ulong Int(string name, string type, int size, int? index = null)
            {
                ReadOnlySpan<byte> b = Take(name, size);
                (object? value, string text) = VmStateDecoder.Scalar(type, b);
                Fields.Add(new QemuField(name, type, _base + Position - size, size, index, value, text, null));
                return value switch
                {
                    ulong u => u,
                    long l => unchecked((ulong)l),
                    _ => 0,
                };
            }

            public void Raw(string name, int size, int index)
            {
                ReadOnlySpan<byte> b = Take(name, size);
                string hex = VmStateDecoder.HexBytes(b);
                Fields.Add(new QemuField(name, "buffer", _base + Position - size, size, index, hex, hex, null));
            }

            public void Segment(string name, int longSize)
            {
                int start = Position;
                var inner = new Cursor(_body.Slice(Position), _base + Position);
                inner.Int("selector", "uint32", 4);
                inner.Int("base", "uint" + (longSize * 8), longSize);
                inner.Int("limit", "uint32", 4);
                inner.Int("flags", "uint32", 4);
                Position += inner.Position;
                var state = new QemuVmState("segment", 1, _base + start, inner.Position, inner.Fields, Array.Empty<QemuVmState>());
                Fields.Add(new QemuField(name, "struct", _base + start, inner.Position, name == "env.segs" ? CountOf(name) : null, null, "segment", state));
            }

            private int CountOf(string name)
            {
                int n = 0;
                foreach (QemuField f in Fields)
                {
                    if (f.Name == name)
                    {
                        n++;
                    }
                }

                return n;
            }

            private ReadOnlySpan<byte> Take(string name, int size)
            {
                if (size > _body.Length - Position)
                {
                    throw new VmStateDecoder.Failure("field '" + name + "' of the legacy cpu layout passes the end of the bytes", Position);
                }

                ReadOnlySpan<byte> b = _body.Slice(Position, size);
                Position += size;
                return b;
            }
        }
    }
}
