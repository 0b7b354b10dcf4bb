using System;
using System.IO;
using System.Runtime.InteropServices;

namespace XenMigration.FileIO
{
    /// <summary>What a path names on disk, as the writers need to know it before replacing it.</summary>
    internal enum FileKind
    {
        /// <summary>Nothing exists at the path (not even a link).</summary>
        Missing,
        /// <summary>A regular file.</summary>
        Regular,
        /// <summary>A directory.</summary>
        Directory,
        /// <summary>A character or block device, FIFO or socket: never replaced by a writer.</summary>
        Special,
        /// <summary>A symbolic link whose target does not exist.</summary>
        DanglingLink,
    }

    /// <summary>
    /// File identity (device and inode) and kind, from stat(2) on Linux. Names are not identities: a
    /// symlink, a symlinked folder or a hard link gives one file many names, and a writer must never
    /// overwrite its own input through one of them. Elsewhere (or if libc cannot be called) the
    /// identity is unknown and callers fall back to comparing full paths.
    /// </summary>
    internal static class FileIdentity
    {
        private const uint S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000;

        /// <summary>(device, inode) of the file <paramref name="path"/> names, following links; null when unknown or missing.</summary>
        public static (ulong Device, ulong Inode)? Of(string path) =>
            Posix.Stat(path, follow: true) is StatInfo s ? (s.Device, s.Inode) : null;

        /// <summary>Whether two paths name the same file: by identity where known, else by full path.</summary>
        public static bool SameFile(string a, string b)
        {
            var ia = Of(a);
            var ib = Of(b);
            if (ia is not null && ib is not null)
            {
                return ia.Value == ib.Value;
            }

            StringComparison cmp = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            return string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), cmp);
        }

        /// <summary>What is at <paramref name="path"/>.</summary>
        public static FileKind KindOf(string path)
        {
            if (Posix.Available)
            {
                if (Posix.Stat(path, follow: true) is not StatInfo target)
                {
                    return Posix.Stat(path, follow: false) is null ? FileKind.Missing : FileKind.DanglingLink;
                }

                uint mode = target.Mode & S_IFMT;
                return mode == S_IFREG ? FileKind.Regular : mode == S_IFDIR ? FileKind.Directory : FileKind.Special;
            }

            return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
        }
    }
}
