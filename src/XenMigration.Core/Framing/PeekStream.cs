using System;
using System.IO;

namespace XenMigration.Framing
{
    /// <summary>
    /// Lets a non-seekable stream (a pipe) be probed once: the first bytes read are kept, and
    /// <see cref="Rewind"/> replays them. Used to detect a container before choosing its reader.
    /// </summary>
    internal sealed class PeekStream : ForwardReadStream
    {
        private const int Capacity = 4096;
        private readonly Stream _inner;
        private readonly byte[] _head = new byte[Capacity];
        private int _headLength;
        private int _position;
        private bool _passThrough;

        public PeekStream(Stream inner) => _inner = inner;

        /// <summary>The first up to <paramref name="count"/> bytes of <paramref name="s"/>, then back to where they started (by seeking, or by a PeekStream's replay).</summary>
        public static ReadOnlySpan<byte> Probe(Stream s, int count)
        {
            long start = s.CanSeek ? s.Position : 0;
            byte[] head = new byte[count];
            int got = ReadFully(s, head, 0, count);
            if (s is PeekStream p)
            {
                p.Rewind();
            }
            else
            {
                s.Position = start;
            }

            return head.AsSpan(0, got);
        }

        /// <summary>Replays the kept bytes from the start; only before reading past them.</summary>
        public void Rewind()
        {
            if (_passThrough)
            {
                throw new InvalidOperationException("The stream was read past its probe.");
            }

            _position = 0;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position < _headLength)
            {
                int n = Math.Min(count, _headLength - _position);
                Buffer.BlockCopy(_head, _position, buffer, offset, n);
                _position += n;
                return n;
            }

            if (!_passThrough && _headLength < Capacity)
            {
                int n = _inner.Read(_head, _headLength, Math.Min(Capacity - _headLength, Math.Max(count, 1)));
                _headLength += n;
                return n == 0 ? 0 : Read(buffer, offset, count);
            }

            _passThrough = true;
            return _inner.Read(buffer, offset, count);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
