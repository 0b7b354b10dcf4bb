using System;
using System.Globalization;
using System.IO;

namespace XenMigration.FileIO
{
    /// <summary>Why a destination may not be written.</summary>
    public enum DestinationProblem
    {
        /// <summary>It may be written.</summary>
        None,
        /// <summary>It is the input file, under this or another name (link, hard link).</summary>
        IsSource,
        /// <summary>It is a directory.</summary>
        IsDirectory,
        /// <summary>It is a device, FIFO or socket, which a rename would replace by a regular file.</summary>
        NotRegularFile,
        /// <summary>It is a symbolic link whose target does not exist.</summary>
        DanglingLink,
        /// <summary>It exists and must not be replaced (no-clobber).</summary>
        Exists,
        /// <summary>It is read-only and replacing it was not forced.</summary>
        ReadOnly,
        /// <summary>It names no file (the path ends with a directory separator).</summary>
        NoFileName,
        /// <summary>Writing it failed (the disk is full, the file system went away, ...); nothing was committed.</summary>
        WriteFailed,
    }

    /// <summary>A refusal to write a destination, with its reason.</summary>
    public sealed class DestinationException : IOException
    {
        /// <summary>Creates the exception.</summary>
        public DestinationException(DestinationProblem problem, string destination, string message)
            : this(problem, destination, message, null)
        {
        }

        /// <summary>Creates the exception with its cause.</summary>
        public DestinationException(DestinationProblem problem, string destination, string message, Exception? innerException)
            : base(message, innerException)
        {
            Problem = problem;
            Destination = destination;
        }

        /// <summary>Why the destination was refused.</summary>
        public DestinationProblem Problem { get; }

        /// <summary>The destination path.</summary>
        public string Destination { get; }
    }

    /// <summary>How a finished output file may be put in place.</summary>
    internal sealed class CommitOptions
    {
        /// <summary>Never replace an existing file, checked before the work and again at the rename.</summary>
        public bool NoClobber { get; set; }

        /// <summary>Replace a read-only file (it stays read-only).</summary>
        public bool Force { get; set; }
    }

    /// <summary>
    /// The rules every writer of this library follows for its destination: what may be replaced
    /// (checked before any work), and the final commit of a finished temporary file.
    /// </summary>
    internal static class OutputFile
    {
        /// <summary>
        /// Throws <see cref="DestinationException"/> when <paramref name="destination"/> may not be
        /// written: it is <paramref name="source"/> (by identity), a directory, a special file, a
        /// dangling link, or an existing file that <paramref name="options"/> do not allow replacing.
        /// </summary>
        public static void Check(string destination, string? source, CommitOptions options)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            if (destination.Length > 0 && (destination[destination.Length - 1] == Path.DirectorySeparatorChar || destination[destination.Length - 1] == Path.AltDirectorySeparatorChar))
            {
                throw Refuse(DestinationProblem.NoFileName, destination, "The destination '{0}' ends with a directory separator: it names a folder, not a file.");
            }

            // By identity (device and inode), not by name: a symlink, symlinked folder or hard link
            // to the input must not let the output overwrite it.
            if (source is not null && FileIdentity.SameFile(source, destination))
            {
                throw Refuse(DestinationProblem.IsSource, destination, "The destination '{0}' is the input file (or a link to it); the input is never overwritten.");
            }

            switch (FileIdentity.KindOf(destination))
            {
                case FileKind.Directory:
                    throw Refuse(DestinationProblem.IsDirectory, destination, "The destination '{0}' is a directory.");
                case FileKind.Special:
                    throw Refuse(DestinationProblem.NotRegularFile, destination, "The destination '{0}' is a device, FIFO or socket, not a regular file; it is never replaced. Write to a file and copy it there.");
                case FileKind.DanglingLink:
                    throw Refuse(DestinationProblem.DanglingLink, destination, "The destination '{0}' is a symbolic link whose target does not exist.");
                case FileKind.Missing:
                    return;
            }

            if (options.NoClobber)
            {
                throw Exists(destination);
            }

            if (!options.Force && (File.GetAttributes(destination) & FileAttributes.ReadOnly) != 0)
            {
                throw Refuse(DestinationProblem.ReadOnly, destination, "The file '{0}' is read-only.");
            }
        }

        /// <summary>
        /// Moves a finished <paramref name="writer"/> into place. A read-only destination replaced
        /// under <see cref="CommitOptions.Force"/> is made read-only again; under
        /// <see cref="CommitOptions.NoClobber"/> a file that appeared meanwhile is not replaced
        /// (<see cref="DestinationException"/>, and the temporary file is removed).
        /// </summary>
        internal static void Commit(AtomicFileWriter writer, CommitOptions options)
        {
            if (writer is null || options is null)
            {
                throw new ArgumentNullException(writer is null ? nameof(writer) : nameof(options));
            }

            string destination = writer.Destination;
            bool wasReadOnly = options.Force && File.Exists(destination) && (File.GetAttributes(destination) & FileAttributes.ReadOnly) != 0;
            if (wasReadOnly)
            {
                File.SetAttributes(destination, File.GetAttributes(destination) & ~FileAttributes.ReadOnly);
            }

            try
            {
                try
                {
                    writer.Commit(overwrite: !options.NoClobber);
                }
                catch (IOException) when (options.NoClobber && File.Exists(destination))
                {
                    throw Exists(destination);
                }
            }
            finally
            {
                if (wasReadOnly && File.Exists(destination))
                {
                    File.SetAttributes(destination, File.GetAttributes(destination) | FileAttributes.ReadOnly);
                }
            }
        }

        private static DestinationException Exists(string destination) =>
            Refuse(DestinationProblem.Exists, destination, "The file '{0}' already exists and may not be replaced.");

        private static DestinationException Refuse(DestinationProblem problem, string destination, string format) =>
            new DestinationException(problem, destination, string.Format(CultureInfo.InvariantCulture, format, destination));
    }
}
