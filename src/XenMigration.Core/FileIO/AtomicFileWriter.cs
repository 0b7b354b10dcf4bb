using System;
using System.Globalization;
using System.IO;

namespace XenMigration.FileIO
{
    /// <summary>
    /// Writes a file so that it appears complete or not at all: the data goes to a temporary file
    /// beside the destination, which replaces the destination (one rename) only on
    /// <see cref="Commit"/>. Disposing without committing deletes the temporary file, so a failed or
    /// cancelled write leaves nothing behind and never touches an existing destination.
    /// </summary>
    internal sealed class AtomicFileWriter : IDisposable
    {
        private readonly FileStream _stream;
        private bool _done;

        private AtomicFileWriter(string destination, string tempPath, FileStream stream)
        {
            Destination = destination;
            TempPath = tempPath;
            _stream = stream;
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

        /// <summary>Creates the temporary file in the destination's directory.</summary>
        public static AtomicFileWriter Create(string destination, int bufferSize = 1 << 20)
        {
            string full = Path.GetFullPath(destination);
            string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException("The destination has no directory.", nameof(destination));
            string temp = Path.Combine(directory, string.Format(CultureInfo.InvariantCulture, ".{0}.{1:N}.tmp", Path.GetFileName(full), Guid.NewGuid()));
            // FileShare.Read so the result can be checked through a second, unbuffered handle.
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, bufferSize);
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

            _stream.Flush(flushToDisk: File.Exists(Destination));
            _stream.Dispose();
            try
            {
                if (File.Exists(Destination))
                {
                    if (!overwrite)
                    {
                        throw new IOException("The file '" + Destination + "' already exists.");
                    }

                    File.Replace(TempPath, Destination, destinationBackupFileName: null);
                }
                else
                {
                    File.Move(TempPath, Destination);
                }

                _done = true;
            }
            finally
            {
                if (!_done)
                {
                    Abandon();
                }
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

            string prefix = "." + Path.GetFileName(full) + ".";
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
                _stream.Dispose();
            }
            catch (IOException)
            {
            }

            try
            {
                File.Delete(TempPath);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
