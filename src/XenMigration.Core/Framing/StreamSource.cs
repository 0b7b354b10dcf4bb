using System;
using System.Buffers;
using System.IO;
using XenMigration.FileIO;

namespace XenMigration.Framing
{
    /// <summary>
    /// A forward-only buffered reader over any <see cref="Stream"/> that knows its absolute
    /// position, can peek, and skips by seeking when the stream allows it (reading and discarding
    /// through the same pooled buffer when it does not). Every format reader in this library sits on
    /// one of these, so pipes and files behave the same and offsets are 64-bit everywhere.
    /// </summary>
    /// <remarks>
    /// Open files for it unbuffered (<see cref="XenFile.OpenRead"/>): it does its own buffering, and a
    /// second buffer below it would only add copies.
    /// </remarks>
    internal sealed class StreamSource : IDisposable
    {
        /// <summary>Default buffer: big enough that one-page records are skipped inside it.</summary>
        public const int DefaultBufferSize = 256 * 1024;

        private readonly Stream _stream;
        private readonly bool _leaveOpen;
        private readonly long _origin;
        private long _length;   // re-read when a file grows while it is read
        private byte[]? _buffer;
        private int _pos;
        private int _len;
        private long _bufferOffset;
        private bool _eof;
        private int _readSize = MinReadSize;

        /// <summary>First read after a seek: enough for a record header and a few fields.</summary>
        private const int MinReadSize = 4096;

        public StreamSource(Stream stream, bool leaveOpen = false, int bufferSize = DefaultBufferSize)
        {
            _stream = stream ?? throw new ArgumentNullException(nameof(stream));
            if (!stream.CanRead)
            {
                throw new ArgumentException("The stream must be readable.", nameof(stream));
            }

            if (bufferSize < 4096)
            {
                throw new ArgumentOutOfRangeException(nameof(bufferSize));
            }

            _leaveOpen = leaveOpen;
            _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
            if (stream.CanSeek)
            {
                CanSeek = true;
                _origin = stream.Position;
                _length = stream.Length - _origin;
            }
            else
            {
                _length = -1;
            }
        }

        /// <summary>True when skips are done by seeking and <see cref="Length"/> is known.</summary>
        public bool CanSeek { get; }

        /// <summary>Bytes from the starting position to the end of a seekable stream; -1 when unknown.</summary>
        public long Length => _length;

        /// <summary>Absolute position (bytes consumed since the start).</summary>
        public long Position => _bufferOffset + _pos;

        /// <summary>Bytes left before the end of a seekable stream; -1 when unknown.</summary>
        public long Remaining => _length < 0 ? -1 : _length - Position;

        /// <summary>
        /// <see cref="Remaining"/>, after re-reading the length of a seekable stream when fewer than
        /// <paramref name="needed"/> bytes were left: a file still being written (a save in progress,
        /// a copy) has grown since it was opened, and its new bytes must count before a record is
        /// called truncated.
        /// </summary>
        public long RemainingAtLeast(long needed)
        {
            if (CanSeek && Remaining < needed)
            {
                long now = _stream.Length - _origin;
                if (now > _length)
                {
                    _length = now;
                    _eof = false;
                }
            }

            return Remaining;
        }

        /// <summary>Bytes actually read from the underlying stream (what skipping by seek saves).</summary>
        public long BytesFetched { get; private set; }

        /// <summary>
        /// Makes at least <paramref name="count"/> bytes (at most the buffer size) available after the
        /// current position, unless the stream ends first. Returns how many are available.
        /// </summary>
        public int Fill(int count)
        {
            byte[] buffer = Buffer;
            int available = _len - _pos;
            if (available >= count)
            {
                return available;
            }

            if (_eof && CanSeek)
            {
                // At the end seen so far a file may since have grown (a save still being written):
                // re-reading its length clears _eof when it has.
                RemainingAtLeast(count);
            }

            if (_eof)
            {
                return available;
            }

            if (count > buffer.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count), "Request larger than the read buffer.");
            }

            if (_pos > 0)
            {
                System.Buffer.BlockCopy(buffer, _pos, buffer, 0, available);
                _bufferOffset += _pos;
                _pos = 0;
                _len = available;
            }

            // Reads start small after a seek (the next record's header is all we know we need) and
            // double while reading sequentially, up to the whole buffer.
            while (_len < count)
            {
                int want = Math.Min(buffer.Length - _len, Math.Max(count - _len, _readSize));
                int n = _stream.Read(buffer, _len, want);
                if (n <= 0)
                {
                    _eof = true;
                    break;
                }

                _len += n;
                BytesFetched += n;
                _readSize = Math.Min(_readSize * 2, buffer.Length);
            }

            return _len - _pos;
        }

        /// <summary>The next up to <paramref name="count"/> bytes, without consuming them.</summary>
        public ReadOnlySpan<byte> Peek(int count)
        {
            int available = Fill(count);
            return new ReadOnlySpan<byte>(Buffer, _pos, Math.Min(count, available));
        }

        /// <summary>
        /// Consumes exactly <paramref name="count"/> bytes (at most the buffer size) and returns them
        /// as a span that stays valid until the next call. Returns false, consuming what there was,
        /// when the stream ends first.
        /// </summary>
        public bool TryRead(int count, out ReadOnlySpan<byte> span)
        {
            int available = Fill(count);
            if (available < count)
            {
                span = new ReadOnlySpan<byte>(Buffer, _pos, available);
                _pos += available;
                return false;
            }

            span = new ReadOnlySpan<byte>(Buffer, _pos, count);
            _pos += count;
            return true;
        }

        /// <summary>
        /// Copies the next <paramref name="count"/> bytes into <paramref name="array"/>, whatever the
        /// count. Returns the number copied, which is less than asked only at the end of the stream.
        /// </summary>
        public int Read(byte[] array, int offset, int count)
        {
            byte[] buffer = Buffer;
            int done = Math.Min(_len - _pos, count);
            if (done > 0)
            {
                System.Buffer.BlockCopy(buffer, _pos, array, offset, done);
                _pos += done;
            }

            while (done < count && !_eof)
            {
                int want = count - done;
                if (want >= buffer.Length / 2)
                {
                    // Large reads go straight to the caller's memory; the buffer is empty here.
                    _bufferOffset += _pos;
                    _pos = 0;
                    _len = 0;
                    int n = _stream.Read(array, offset + done, want);
                    if (n <= 0)
                    {
                        _eof = true;
                        break;
                    }

                    _bufferOffset += n;
                    BytesFetched += n;
                    done += n;
                }
                else
                {
                    int n = Math.Min(Fill(want), want);
                    if (n == 0)
                    {
                        break;
                    }

                    System.Buffer.BlockCopy(buffer, _pos, array, offset + done, n);
                    _pos += n;
                    done += n;
                }
            }

            return done;
        }

        /// <summary>
        /// Reads exactly <paramref name="count"/> bytes into a new array, or returns null when the
        /// stream ends first. When the length of the input is unknown the array grows as bytes
        /// arrive (from 1 MiB, doubling), so a hostile declared length cannot make it allocate far
        /// ahead of the data; on a seekable input callers check <see cref="Remaining"/> first.
        /// </summary>
        public byte[]? ReadArray(int count)
        {
            if (CanSeek || count <= GrowthStart)
            {
                byte[] exact = new byte[count];
                return Read(exact, 0, count) == count ? exact : null;
            }

            byte[] data = new byte[GrowthStart];
            int done = 0;
            while (done < count)
            {
                if (done == data.Length)
                {
                    Array.Resize(ref data, (int)Math.Min((long)data.Length * 2, count));
                }

                int n = Read(data, done, data.Length - done);
                if (n == 0)
                {
                    return null;
                }

                done += n;
            }

            return data;
        }

        /// <summary>Initial allocation when reading an array of unknown availability.</summary>
        public const int GrowthStart = 1 << 20;

        /// <summary>
        /// Copies the next <paramref name="count"/> bytes to <paramref name="destination"/>: what is
        /// buffered first, then, between two files on Linux, by the kernel (copy_file_range), and
        /// otherwise through <paramref name="scratch"/>. Returns the bytes copied, which is less than
        /// <paramref name="count"/> only at the end of the input.
        /// </summary>
        public long CopyTo(Stream destination, long count, byte[] scratch)
        {
            byte[] buffer = Buffer;
            long done = Math.Min(_len - _pos, count);
            if (done > 0)
            {
                destination.Write(buffer, _pos, (int)done);
                _pos += (int)done;
            }

            FileStream? output = destination as FileStream ?? (destination as IFileBacked)?.File;
            if (done < count && CanSeek && KernelCopy.IsAvailable && _stream is FileStream input && output is not null)
            {
                // The buffer is empty here. Flush what the output buffered, copy in the kernel at
                // explicit offsets, then move both streams past the copied range.
                destination.Flush();
                long at = Position;
                long copied = KernelCopy.Copy(input.SafeFileHandle, _origin + at, output.SafeFileHandle, output.Position, count - done);
                if (copied > 0)
                {
                    output.Seek(copied, SeekOrigin.Current);
                    _stream.Seek(_origin + at + copied, SeekOrigin.Begin);
                    _bufferOffset = at + copied;
                    _pos = 0;
                    _len = 0;
                    _eof = _bufferOffset >= _length;
                    BytesFetched += copied;
                    done += copied;
                }
            }

            while (done < count)
            {
                int n = Read(scratch, 0, (int)Math.Min(scratch.Length, count - done));
                if (n == 0)
                {
                    break;
                }

                destination.Write(scratch, 0, n);
                done += n;
            }

            return done;
        }

        /// <summary>
        /// Advances <paramref name="count"/> bytes: inside the buffer when they are there, by seeking
        /// on a seekable stream, otherwise by reading and discarding. Returns the bytes advanced, which
        /// is less than <paramref name="count"/> only when the stream ends first (a seekable stream is
        /// never positioned past its end).
        /// </summary>
        public long Skip(long count)
        {
            if (count < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(count));
            }

            int buffered = _len - _pos;
            if (count <= buffered)
            {
                _pos += (int)count;
                return count;
            }

            // Seek only over gaps larger than the buffer: for small gaps one sequential read is
            // cheaper than a seek and a new read per record (one-page PAGE_DATA records, say).
            if (CanSeek && count - buffered >= Buffer.Length)
            {
                long target = Position + Math.Min(count, RemainingAtLeast(count));
                long advanced = target - Position;
                _stream.Seek(_origin + target, SeekOrigin.Begin);
                _bufferOffset = target;
                _pos = 0;
                _len = 0;
                _eof = target >= _length;
                _readSize = MinReadSize;
                return advanced;
            }

            long skipped = buffered;
            _pos = _len;
            while (skipped < count)
            {
                int available = Fill((int)Math.Min(count - skipped, Buffer.Length));
                if (available == 0)
                {
                    break;
                }

                int n = (int)Math.Min(available, count - skipped);
                _pos += n;
                skipped += n;
            }

            return skipped;
        }

        public void Dispose()
        {
            byte[]? buffer = _buffer;
            if (buffer is null)
            {
                return;
            }

            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }

        private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(StreamSource));
    }
}
