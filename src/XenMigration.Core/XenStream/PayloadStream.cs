using System;
using System.IO;
using XenMigration.Framing;

namespace XenMigration.XenStream
{
    /// <summary>Bounded, read-only view of the current record's payload.</summary>
    internal sealed class PayloadStream : ForwardReadStream
    {
        private readonly XenStreamReader _reader;
        private readonly FramedRecordReader _frames;
        private readonly int _generation;
        private readonly long _length;
        private long _position;

        public PayloadStream(XenStreamReader reader, FramedRecordReader frames, int generation, long length)
        {
            _reader = reader;
            _frames = frames;
            _generation = generation;
            _length = length;
        }

        public override long Length => _length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reader.IsDisposed)
            {
                throw new ObjectDisposedException(nameof(XenStreamReader));
            }

            if (_generation != _frames.Generation)
            {
                throw new EndOfStreamException("The reader has moved past the record this payload belongs to.");
            }

            int n = _frames.ReadBody(buffer, offset, (int)Math.Min(count, _length - _position));
            _position += n;
            return n;
        }
    }
}
