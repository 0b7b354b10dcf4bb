using System;
using System.IO;

namespace XenMigration.Framing
{
    /// <summary>
    /// A read-only, seekable view of a byte range of a seekable stream (an embedded stream: a Xen
    /// record's payload, the QEMU stream after a libvirt header). Positions are relative to the window.
    /// </summary>
    internal sealed class WindowStream : Stream
    {
        private readonly Stream _inner;
        private readonly long _start;
        private readonly long _length;
        private readonly bool _leaveOpen;
        private long _position;

        public WindowStream(Stream inner, long start, long length, bool leaveOpen = false)
        {
            if (!inner.CanSeek || start < 0 || length < 0 || start > inner.Length)
            {
                throw new ArgumentException("The window must lie in a seekable stream.");
            }

            _inner = inner;
            _start = start;
            _length = Math.Min(length, inner.Length - start);
            _leaveOpen = leaveOpen;
        }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => _position;
            set => Seek(value, SeekOrigin.Begin);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            long left = _length - _position;
            if (left <= 0)
            {
                return 0;
            }

            _inner.Position = _start + _position;
            int n = _inner.Read(buffer, offset, (int)Math.Min(count, left));
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            long target = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => _length + offset,
            };
            if (target < 0)
            {
                throw new IOException("Cannot seek before the start of the window.");
            }

            _position = target;
            return target;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_leaveOpen)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
