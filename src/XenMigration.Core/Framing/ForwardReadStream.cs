using System;
using System.IO;

namespace XenMigration.Framing
{
    /// <summary>
    /// Base of the read-only, forward-only streams this library hands out or wraps (a record's
    /// payload, a probed pipe, a decompressor's output): everything but Read is fixed.
    /// </summary>
    internal abstract class ForwardReadStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        /// <summary>
        /// Reads until <paramref name="count"/> bytes are in <paramref name="buffer"/> or the stream
        /// ends; returns how many were read.
        /// </summary>
        public static int ReadFully(Stream stream, byte[] buffer, int offset, int count)
        {
            int done = 0;
            while (done < count)
            {
                int n = stream.Read(buffer, offset + done, count - done);
                if (n <= 0)
                {
                    break;
                }

                done += n;
            }

            return done;
        }
    }
}
