using System;
using System.Globalization;
using System.IO;
using XenMigration.Framing;

namespace XenMigration.HvmContext
{
    /// <summary>The descriptor of one entry of an HVM context blob, as the walk finds it.</summary>
    internal readonly struct HvmEntryDescriptor
    {
        internal HvmEntryDescriptor(int offset, ushort typecode, ushort instance, uint length)
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
    /// The one walk of an HVM context blob, as Xen's loader does it: a descriptor (typecode,
    /// instance, length), then that many bytes, until END. It reads the blob as it arrives and
    /// keeps at most <c>payloadWanted</c> bytes of each entry (the rules need a few, the decoder
    /// whole entries), so memory is bounded by the largest entry asked for, not by the blob. It
    /// stops at END, at the end of the blob, or at a fault (an entry running past the blob), which
    /// it reports rather than throws: the rules report it as an issue, the decoder as an error.
    /// </summary>
    internal sealed class HvmContextWalk
    {
        private readonly Stream _blob;
        private readonly int _length;
        private readonly Func<ushort, uint, int> _wanted;
        private byte[] _payload = new byte[64];
        private readonly byte[] _scratch;
        private int _pos;
        private int _kept;
        private bool _done;

        /// <param name="blob">The blob, positioned at its start.</param>
        /// <param name="length">Its length.</param>
        /// <param name="payloadWanted">Bytes of each entry's payload to keep for <see cref="Payload"/>, by typecode and length.</param>
        public HvmContextWalk(Stream blob, int length, Func<ushort, uint, int> payloadWanted)
        {
            _blob = blob;
            _length = length;
            _wanted = payloadWanted;
            _scratch = new byte[Math.Min(Math.Max(length, 8), 1 << 16)];
        }

        /// <summary>The entries of a blob held in memory, up to a fault or END (for tests and tools).</summary>
        public static System.Collections.Generic.IReadOnlyList<HvmEntryDescriptor> Entries(byte[] blob)
        {
            var entries = new System.Collections.Generic.List<HvmEntryDescriptor>();
            using var stream = new MemoryStream(blob, writable: false);
            var walk = new HvmContextWalk(stream, blob.Length, (_, _) => 0);
            while (walk.MoveNext())
            {
                entries.Add(walk.Current);
            }

            return entries;
        }

        /// <summary>The current entry.</summary>
        public HvmEntryDescriptor Current { get; private set; }

        /// <summary>The kept bytes of the current entry's payload (valid until the next <see cref="MoveNext"/>).</summary>
        public ReadOnlySpan<byte> Payload => new ReadOnlySpan<byte>(_payload, 0, _kept);

        /// <summary>Offset just after END; -1 while (or when) there is none.</summary>
        public int EndOffset { get; private set; } = -1;

        /// <summary>Why the walk stopped early (an entry does not fit); null otherwise.</summary>
        public string? Fault { get; private set; }

        /// <summary>Blob offset of <see cref="Fault"/>.</summary>
        public int FaultOffset { get; private set; } = -1;

        /// <summary>
        /// Moves to the next entry; false at the end of the blob, after END, or at a fault (then
        /// the rest of the blob is consumed, so the stream is at its end).
        /// </summary>
        /// <exception cref="EndOfStreamException">The stream ends before the blob does.</exception>
        public bool MoveNext()
        {
            if (_done || _pos >= _length)
            {
                _done = true;
                return false;
            }

            if (_length - _pos < HvmContextFormat.DescriptorSize)
            {
                return Stop(string.Format(CultureInfo.InvariantCulture, "{0} bytes at blob offset {1} are too few for an 8-byte descriptor", _length - _pos, _pos));
            }

            ReadExactly(_scratch, HvmContextFormat.DescriptorSize);
            var r = new SpanReader(new ReadOnlySpan<byte>(_scratch, 0, HvmContextFormat.DescriptorSize));
            ushort code = r.U16();
            ushort instance = r.U16();
            uint entryLength = r.U32();
            int remaining = _length - _pos - HvmContextFormat.DescriptorSize;
            if (entryLength > (uint)remaining)
            {
                _pos += HvmContextFormat.DescriptorSize;
                return Stop(string.Format(CultureInfo.InvariantCulture, "the {0} entry at blob offset {1} declares {2} bytes but only {3} remain", HvmContextFormat.NameOf(code), _pos - HvmContextFormat.DescriptorSize, entryLength, remaining), _pos - HvmContextFormat.DescriptorSize);
            }

            int keep = (int)Math.Min(entryLength, (uint)Math.Max(0, _wanted(code, entryLength)));
            if (_payload.Length < keep)
            {
                _payload = new byte[keep];
            }

            ReadExactly(_payload, keep);
            Consume((int)entryLength - keep);
            Current = new HvmEntryDescriptor(_pos, code, instance, entryLength);
            _kept = keep;
            _pos += HvmContextFormat.DescriptorSize + (int)entryLength;
            if (code == HvmContextFormat.EndCode)
            {
                EndOffset = _pos;
                Consume(_length - _pos);
                _done = true;
            }

            return true;
        }

        // The walk returns END as an entry; after it (or at a fault) MoveNext is false.
        private bool Stop(string fault, int at = -1)
        {
            Fault = fault;
            FaultOffset = at < 0 ? _pos : at;
            Consume(_length - _pos);
            _pos = _length;
            _done = true;
            return false;
        }

        private void ReadExactly(byte[] buffer, int count)
        {
            if (ForwardReadStream.ReadFully(_blob, buffer, 0, count) != count)
            {
                throw new EndOfStreamException();
            }
        }

        private void Consume(int count)
        {
            while (count > 0)
            {
                int n = _blob.Read(_scratch, 0, Math.Min(count, _scratch.Length));
                if (n == 0)
                {
                    throw new EndOfStreamException();
                }

                count -= n;
            }
        }
    }
}
