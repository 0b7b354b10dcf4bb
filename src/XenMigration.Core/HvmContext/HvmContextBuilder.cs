using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using XenMigration.Framing;

namespace XenMigration.HvmContext
{
    /// <summary>
    /// Builds an HVM context blob (docs/formats §6) entry by entry, for XenStreamWriter.WriteHvmContext:
    /// to rebuild or patch a guest's device state, or to make test images.
    /// </summary>
    public sealed class HvmContextBuilder
    {
        private readonly ByteBuilder _blob = new ByteBuilder(4096);

        /// <summary>Appends an entry with the given payload (its length is the descriptor's length).</summary>
        public HvmContextBuilder Add(HvmTypeCode typeCode, ushort instance, ReadOnlySpan<byte> payload)
        {
            _blob.U16((ushort)typeCode).U16(instance).U32(checked((uint)payload.Length)).Bytes(payload);
            return this;
        }

        /// <summary>Appends HEADER: magic, version 1, changeset (all ones: unknown), CPUID leaf 1 EAX and guest TSC kHz.</summary>
        public HvmContextBuilder AddHeader(uint cpuid, uint guestTscKhz, ulong changeset = ulong.MaxValue)
        {
            var p = new ByteBuilder(24).U32(HvmContextFormat.HeaderMagic).U32(HvmContextFormat.HeaderVersion).U64(changeset).U32(cpuid).U32(guestTscKhz);
            return Add(HvmTypeCode.Header, 0, p.Span);
        }

        /// <summary>
        /// Appends HPET: the general registers, three timers (config, comparator, FSB route) and the
        /// hidden periods, in the 1048-byte layout; reserved registers are zero.
        /// </summary>
        public HvmContextBuilder AddHpet(ulong capability, ulong config, ulong isr, ulong mainCounter, IReadOnlyList<(ulong Config, ulong Comparator, ulong FsbRoute)> timers, IReadOnlyList<ulong> periods)
        {
            if (timers is null || timers.Count != 3 || periods is null || periods.Count != 3)
            {
                throw new ArgumentException("An HPET entry has exactly three timers and three periods.");
            }

            byte[] p = new byte[1048];
            Span<byte> s = p;
            BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(0x000), capability);
            BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(0x010), config);
            BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(0x020), isr);
            BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(0x0F0), mainCounter);
            for (int n = 0; n < 3; n++)
            {
                int t = 0x100 + (0x20 * n);
                BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(t), timers[n].Config);
                BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(t + 8), timers[n].Comparator);
                BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(t + 0x10), timers[n].FsbRoute);
                BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(0x400 + (8 * n)), periods[n]);
            }

            return Add(HvmTypeCode.Hpet, 0, p);
        }

        /// <summary>Appends END.</summary>
        public HvmContextBuilder AddEnd() => Add(HvmTypeCode.End, 0, ReadOnlySpan<byte>.Empty);

        /// <summary>The blob so far.</summary>
        public byte[] ToArray() => _blob.ToArray();
    }
}
