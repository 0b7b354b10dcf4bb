using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.HvmContext
{
    /// <summary>One descriptor + payload of an HVM context blob.</summary>
    public sealed class HvmContextEntry
    {
        internal HvmContextEntry(int offset, ushort typecode, ushort instance, uint length)
        {
            Offset = offset;
            Typecode = typecode;
            Instance = instance;
            Length = length;
        }

        /// <summary>Offset of the descriptor within the blob.</summary>
        public int Offset { get; }
        /// <summary>Typecode.</summary>
        public ushort Typecode { get; }
        /// <summary>Xen's name of the typecode.</summary>
        public string Name => HvmContextFormat.NameOf(Typecode);
        /// <summary>Instance: the vCPU for per-vCPU entries, 0 (or the PIC number) otherwise.</summary>
        public ushort Instance { get; }
        /// <summary>Payload length.</summary>
        public uint Length { get; }
        /// <summary>Offset of the payload within the blob.</summary>
        public int PayloadOffset => Offset + HvmContextFormat.DescriptorSize;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}[{1}] {2} bytes", Name, Instance, Length);
    }

    /// <summary>
    /// Walks the descriptors of an HVM context blob (xen.md §6) the way Xen's loader does: entries
    /// until END, each consuming exactly its declared length. Stops at END or at the first
    /// descriptor that does not fit the blob.
    /// </summary>
    public static class HvmContextWalker
    {
        /// <summary>The entries, in blob order, up to and including END when it is found.</summary>
        /// <param name="blob">The HVM_CONTEXT record body.</param>
        /// <param name="endOffset">Offset just past END, or -1 when END was not reached.</param>
        /// <param name="fault">Why the walk stopped early (a descriptor or payload past the end), or null.</param>
        /// <param name="faultOffset">Offset of the descriptor that did not fit, or -1.</param>
        public static IReadOnlyList<HvmContextEntry> Walk(byte[] blob, out int endOffset, out string? fault, out int faultOffset)
        {
            var entries = new List<HvmContextEntry>();
            int pos = 0;
            endOffset = -1;
            fault = null;
            faultOffset = -1;
            while (pos < blob.Length)
            {
                if (blob.Length - pos < HvmContextFormat.DescriptorSize)
                {
                    fault = string.Format(CultureInfo.InvariantCulture, "{0} bytes at blob offset {1} are too few for an 8-byte descriptor", blob.Length - pos, pos);
                    faultOffset = pos;
                    return entries;
                }

                var r = new SpanReader(new System.ReadOnlySpan<byte>(blob, pos, HvmContextFormat.DescriptorSize));
                ushort code = r.U16();
                ushort instance = r.U16();
                uint length = r.U32();
                if (length > (uint)(blob.Length - pos - HvmContextFormat.DescriptorSize))
                {
                    fault = string.Format(CultureInfo.InvariantCulture, "the {0} entry at blob offset {1} declares {2} bytes but only {3} remain", HvmContextFormat.NameOf(code), pos, length, blob.Length - pos - HvmContextFormat.DescriptorSize);
                    faultOffset = pos;
                    return entries;
                }

                var entry = new HvmContextEntry(pos, code, instance, length);
                entries.Add(entry);
                pos += HvmContextFormat.DescriptorSize + (int)length;
                if (code == HvmContextFormat.EndCode)
                {
                    endOffset = pos;
                    return entries;
                }
            }

            return entries;
        }
    }
}
