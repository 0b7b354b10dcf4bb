using System;
using System.IO;

namespace XenMigration.Framing
{
    /// <summary>
    /// Bounded, read-only view of the body of the frame a <see cref="FramedRecordReader"/> has open.
    /// Like TarReader's data stream, it expires when the reader moves to the next frame.
    /// </summary>
    internal sealed class FrameBodyStream : ForwardReadStream
    {
        private readonly FramedRecordReader _frames;
        private readonly int _generation;
        private readonly long _length;
        private long _position;

        public FrameBodyStream(FramedRecordReader frames, int generation, long length)
        {
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
