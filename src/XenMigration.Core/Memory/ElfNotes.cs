using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using XenMigration.X86;

namespace XenMigration.Memory
{
    /// <summary>
    /// The notes of an ELF core, as QEMU's dump-guest-memory writes them (dump/dump.c,
    /// target/i386/arch_dump.c): per vCPU an NT_PRSTATUS ("CORE") with the general registers in
    /// the kernel's user_regs_struct order, and QEMU's "QEMU" CPU-state note (segments, control
    /// registers: crash takes CR3 from it); then the guest's own VMCOREINFO note.
    /// </summary>
    internal static class ElfNotes
    {
        private const uint NtPrStatus = 1;
        private const int PrStatusSize = 336, QemuCpuStateSize = 440;

        public static byte[] Build(GuestMachineState state, ElfCoreWriter writer)
        {
            var notes = new List<byte>();
            foreach (X86Registers r in state.Vcpus)
            {
                Note(notes, "CORE", NtPrStatus, PrStatus(r));
            }

            foreach (X86Registers r in state.Vcpus)
            {
                Note(notes, "QEMU", 0, QemuCpuState(r));
            }

            if (state.VmcoreInfoAddress is ulong at && state.VmcoreInfoSize <= 64 << 10 && writer.ReadGuest(at, state.VmcoreInfoSize) is byte[] guest && IsVmcoreInfo(guest))
            {
                notes.AddRange(guest);   // the guest's note as it wrote it (header, name, text)
                while (notes.Count % 4 != 0)
                {
                    notes.Add(0);
                }
            }

            return notes.ToArray();
        }

        /// <summary>Whether <paramref name="note"/> starts with an ELF note named VMCOREINFO whose text begins "OSRELEASE=".</summary>
        public static bool IsVmcoreInfo(ReadOnlySpan<byte> note)
        {
            if (note.Length < 12 + 12 + 10)
            {
                return false;
            }

            uint nameSize = BinaryPrimitives.ReadUInt32LittleEndian(note);
            uint descSize = BinaryPrimitives.ReadUInt32LittleEndian(note.Slice(4));
            return nameSize == 11 && descSize > 10 && descSize < (1 << 20)
                && note.Slice(12, 10).SequenceEqual(Encoding.ASCII.GetBytes("VMCOREINFO"))
                && note.Slice(24, 10).SequenceEqual(Encoding.ASCII.GetBytes("OSRELEASE="));
        }

        /// <summary>The whole size of the note at the start of <paramref name="note"/> (header, padded name and text).</summary>
        public static uint SizeOf(ReadOnlySpan<byte> note) =>
            12 + Pad4(BinaryPrimitives.ReadUInt32LittleEndian(note)) + Pad4(BinaryPrimitives.ReadUInt32LittleEndian(note.Slice(4)));

        private static uint Pad4(uint n) => (n + 3) & ~3u;

        private static void Note(List<byte> notes, string name, uint type, byte[] desc)
        {
            byte[] n = Encoding.ASCII.GetBytes(name + "\0");
            var header = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)n.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)desc.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), type);
            notes.AddRange(header);
            notes.AddRange(n);
            while (notes.Count % 4 != 0)
            {
                notes.Add(0);
            }

            notes.AddRange(desc);
            while (notes.Count % 4 != 0)
            {
                notes.Add(0);
            }
        }

        private static byte[] PrStatus(X86Registers r)
        {
            var b = new byte[PrStatusSize];
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), r.Vcpu + 1);   // pr_pid: gdb's thread per vCPU
            ulong[] regs =
            {
                r.R15, r.R14, r.R13, r.R12, r.Rbp, r.Rbx, r.R11, r.R10, r.R9, r.R8, r.Rax, r.Rcx, r.Rdx, r.Rsi, r.Rdi,
                r.Rax,   // orig_rax
                r.Rip, Sel(r.Cs), r.Rflags, r.Rsp, Sel(r.Ss), r.FsBase, r.GsBase, Sel(r.Ds), Sel(r.Es), Sel(r.Fs), Sel(r.Gs),
            };
            for (int i = 0; i < regs.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(112 + (8 * i)), regs[i]);
            }

            return b;
        }

        private static byte[] QemuCpuState(X86Registers r)
        {
            var b = new byte[QemuCpuStateSize];
            BinaryPrimitives.WriteUInt32LittleEndian(b, 1);                         // version
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), QemuCpuStateSize);
            ulong[] regs = { r.Rax, r.Rbx, r.Rcx, r.Rdx, r.Rsi, r.Rdi, r.Rsp, r.Rbp, r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15, r.Rip, r.Rflags };
            int at = 8;
            foreach (ulong v in regs)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);
                at += 8;
            }

            foreach (X86Segment? s in new[] { r.Cs, r.Ds, r.Es, r.Fs, r.Gs, r.Ss, r.Ldtr, r.Tr, r.Gdtr, r.Idtr })
            {
                if (s is not null)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), s.Selector);
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 4), s.Limit);
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 8), s.Attributes);
                    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at + 16), s.Base);
                }

                at += 24;
            }

            foreach (ulong cr in new[] { r.Cr0, 0UL, r.Cr2, r.Cr3, r.Cr4 })
            {
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), cr);
                at += 8;
            }

            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), r.KernelGsBase);
            return b;
        }

        private static ulong Sel(X86Segment? s) => s?.Selector ?? 0;
    }
}
