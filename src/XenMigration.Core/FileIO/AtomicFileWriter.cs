using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace XenMigration.FileIO
{
    /// <summary>
    /// Writes a file so that it appears complete or not at all: the data goes to a temporary file
    /// beside the destination, which replaces the destination (one rename) only on
    /// <see cref="Commit"/>. Disposing without committing deletes the temporary file, so a failed or
    /// cancelled write leaves nothing behind and never touches an existing destination.
    /// </summary>
    /// <remarks>
    /// The temporary file is private (0600) while it is written; at the commit it takes the mode and
    /// owner of the file it replaces (so a private image stays private), or, for a new file, the
    /// mode a new file gets from the process's umask. A write failure is a
    /// <see cref="DestinationException"/> (<see cref="DestinationProblem.WriteFailed"/>) naming the
    /// destination. SIGTERM and SIGHUP remove the temporary files of writes in progress.
    /// </remarks>
    internal sealed class AtomicFileWriter : IDisposable
    {
        /// <summary>File names are at most 255 bytes (NAME_MAX): the temporary name keeps what fits.</summary>
        private const int MaxNameBytes = 255;

        /// <summary>"." + name + "." + 32 hex digits + ".tmp".</summary>
        private const int TempOverhead = 1 + 1 + 32 + 4;

        private readonly FileStream _file;
        private readonly Stream _stream;
        private bool _done;

        private AtomicFileWriter(string destination, string tempPath, FileStream file)
        {
            Destination = destination;
            TempPath = tempPath;
            _file = file;
            _stream = new WriteErrorStream(file, destination);
        }

        /// <summary>The file that <see cref="Commit"/> creates or replaces.</summary>
        public string Destination { get; }

        /// <summary>The temporary file being written.</summary>
        public string TempPath { get; }

        /// <summary>The temporary file's stream.</summary>
        public Stream Stream => _stream;

        /// <summary>Flushes what was written and opens the temporary file for reading (to verify it before committing).</summary>
        public FileStream OpenRead()
        {
            _stream.Flush();
            return XenFile.OpenRead(TempPath);
        }

        // The temporary file's name: the destination's name cut (by bytes) so the whole fits NAME_MAX.
        private static string TempPrefix(string fileName)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(fileName);
            int keep = Math.Min(bytes.Length, MaxNameBytes - TempOverhead);
            while (keep > 0 && keep < bytes.Length && (bytes[keep] & 0xC0) == 0x80)
            {
                keep--;   // never split a UTF-8 sequence
            }

            return "." + Encoding.UTF8.GetString(bytes, 0, keep) + ".";
        }

        /// <summary>Creates the temporary file in the destination's directory.</summary>
        public static AtomicFileWriter Create(string destination, int bufferSize = 1 << 20)
        {
            string full = Path.GetFullPath(destination);
            string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException("The destination has no directory.", nameof(destination));
            string temp = Path.Combine(directory, string.Format(CultureInfo.InvariantCulture, "{0}{1:N}.tmp", TempPrefix(Path.GetFileName(full)), Guid.NewGuid()));
            // Tracked (and the signal handlers registered) before the file exists, so no signal finds it untracked.
            TempFiles.Track(temp);
            FileStream stream;
            try
            {
                // FileShare.Read so the result can be checked through a second, unbuffered handle.
                stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, bufferSize);
            }
            catch
            {
                TempFiles.Forget(temp);
                throw;
            }

            Posix.Chmod(temp, Convert.ToUInt32("600", 8));   // private before the first byte is written
            return new AtomicFileWriter(full, temp, stream);
        }

        /// <summary>
        /// Moves the data into place. An existing destination is replaced when
        /// <paramref name="overwrite"/> is set (callers clear a read-only attribute first), otherwise
        /// an <see cref="IOException"/> is thrown and the temporary file removed.
        /// </summary>
        /// <remarks>
        /// Before replacing an existing file the data is flushed to disk, so a crash cannot leave an
        /// empty file where the previous version was. A new file is only flushed to the operating
        /// system (as cp does): a crash then loses at most the new file, never earlier data.
        /// </remarks>
        public void Commit(bool overwrite)
        {
            if (_done)
            {
                throw new InvalidOperationException("The file has already been committed or abandoned.");
            }

            try
            {
                _file.Flush(flushToDisk: File.Exists(Destination));
            }
            catch (IOException e)
            {
                Abandon();
                throw WriteErrorStream.Failed(Destination, e);
            }

            _file.Dispose();
            try
            {
                if (File.Exists(Destination))
                {
                    if (!overwrite)
                    {
                        throw new IOException("The file '" + Destination + "' already exists.");
                    }

                    TakeModeAndOwnerOf(Destination);
                    File.Replace(TempPath, Destination, destinationBackupFileName: null);
                }
                else
                {
                    if (Posix.Umask() is uint mask)
                    {
                        Posix.Chmod(TempPath, Convert.ToUInt32("666", 8) & ~mask);
                    }

                    File.Move(TempPath, Destination);
                }

                _done = true;
                TempFiles.Forget(TempPath);
            }
            finally
            {
                if (!_done)
                {
                    Abandon();
                }
            }
        }

        // A replaced file's mode and owner carry over (chown only works where permitted: as root,
        // or to a group the user is in).
        private void TakeModeAndOwnerOf(string existing)
        {
            if (Posix.Stat(existing, follow: true) is StatInfo s)
            {
                Posix.Chown(TempPath, s.Uid, s.Gid);
                Posix.Chmod(TempPath, s.Permissions);
            }
        }

        /// <summary>Deletes the temporary file unless it was committed.</summary>
        public void Dispose()
        {
            if (!_done)
            {
                Abandon();
            }
        }

        /// <summary>
        /// Temporary files of earlier writes to <paramref name="destination"/> that were never
        /// committed or removed (the process was killed, or the machine lost power), so a caller can
        /// name them. They are not deleted: another write to the same destination may be running.
        /// </summary>
        public static string[] FindLeftovers(string destination)
        {
            string full = Path.GetFullPath(destination);
            string? directory = Path.GetDirectoryName(full);
            if (directory is null || !Directory.Exists(directory))
            {
                return Array.Empty<string>();
            }

            string prefix = TempPrefix(Path.GetFileName(full));
            try
            {
                var found = new System.Collections.Generic.List<string>();
                foreach (string f in Directory.EnumerateFiles(directory, prefix + "*.tmp"))
                {
                    string middle = Path.GetFileName(f).Substring(prefix.Length);
                    if (middle.Length == 36 && Guid.TryParseExact(middle.Substring(0, 32), "N", out _))
                    {
                        found.Add(f);
                    }
                }

                return found.ToArray();
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return Array.Empty<string>();
            }
        }

        private void Abandon()
        {
            _done = true;
            try
            {
                // On a full disk the final flush fails: the file must still be deleted.
                _file.Dispose();
            }
            catch (IOException)
            {
            }

            TempFiles.Delete(TempPath);
        }

        /// <summary>The output stream: its failures are write failures of the destination, not read errors of the input.</summary>
        private sealed class WriteErrorStream : Stream, IFileBacked
        {
            private readonly FileStream _inner;
            private readonly string _destination;

            public WriteErrorStream(FileStream inner, string destination)
            {
                _inner = inner;
                _destination = destination;
            }

            // Readable so that a writer can read back what it wrote (guest memory: XBZRLE deltas, notes).
            public override bool CanRead => _inner.CanRead;

            public override bool CanSeek => _inner.CanSeek;

            public override bool CanWrite => true;

            public override long Length => _inner.Length;

            public override long Position
            {
                get => _inner.Position;
                set => _inner.Position = value;
            }

            // Kernel copies go straight between the two files (copy_file_range).
            public FileStream File => _inner;

            public static DestinationException Failed(string destination, IOException e) =>
                new DestinationException(DestinationProblem.WriteFailed, destination, string.Format(CultureInfo.InvariantCulture, "Writing '{0}' failed ({1}); nothing was written.", destination, e.Message.TrimEnd('.')), e);

            public override void Write(byte[] buffer, int offset, int count)
            {
                try
                {
                    _inner.Write(buffer, offset, count);
                }
                catch (IOException e) when (e is not DestinationException)
                {
                    throw Failed(_destination, e);
                }
            }

            public override void Flush()
            {
                try
                {
                    _inner.Flush();
                }
                catch (IOException e) when (e is not DestinationException)
                {
                    throw Failed(_destination, e);
                }
            }

            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

            public override void SetLength(long value)
            {
                try
                {
                    _inner.SetLength(value);
                }
                catch (IOException e) when (e is not DestinationException)
                {
                    throw Failed(_destination, e);
                }
            }
        }
    }

    /// <summary>A stream that writes to a file, for file-to-file copies done by the kernel.</summary>
    internal interface IFileBacked
    {
        FileStream File { get; }
    }
}
