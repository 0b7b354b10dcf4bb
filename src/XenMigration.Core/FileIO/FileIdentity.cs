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
        // struct stat: st_dev and st_ino are the first two 64-bit fields on x86_64 and on arm64 (the
        // generic layout); st_mode is at 24 on x86_64 and at 16 on arm64.
        private const int StatBufferSize = 256;
        private const uint S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000;

        private static readonly int s_modeOffset =
            !RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? -1 :
            RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 :
            RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 16 : -1;

        private static volatile bool s_libcFailed;

        /// <summary>(device, inode) of the file <paramref name="path"/> names, following links; null when unknown or missing.</summary>
        public static (ulong Device, ulong Inode)? Of(string path)
        {
            byte[]? buf = Stat(path, follow: true);
            return buf is null ? null : (BitConverter.ToUInt64(buf, 0), BitConverter.ToUInt64(buf, 8));
        }

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
            if (s_modeOffset >= 0 && !s_libcFailed)
            {
                byte[]? target = Stat(path, follow: true);
                if (target is null)
                {
                    return Stat(path, follow: false) is null ? FileKind.Missing : FileKind.DanglingLink;
                }

                uint mode = BitConverter.ToUInt32(target, s_modeOffset) & S_IFMT;
                return mode == S_IFREG ? FileKind.Regular : mode == S_IFDIR ? FileKind.Directory : FileKind.Special;
            }

            return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
        }

        private static byte[]? Stat(string path, bool follow)
        {
            if (s_modeOffset < 0 || s_libcFailed)
            {
                return null;
            }

            var buf = new byte[StatBufferSize];
            byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");   // libc takes NUL-terminated UTF-8
            try
            {
                int rc;
                try
                {
                    rc = follow ? stat(name, buf) : lstat(name, buf);
                }
                catch (EntryPointNotFoundException)
                {
                    // glibc before 2.33 exports only the versioned wrappers.
                    rc = follow ? __xstat(1, name, buf) : __lxstat(1, name, buf);
                }

                return rc == 0 ? buf : null;
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is BadImageFormatException)
            {
                s_libcFailed = true;
                return null;
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int stat(byte[] path, byte[] buf);

        [DllImport("libc", SetLastError = true)]
        private static extern int lstat(byte[] path, byte[] buf);

        [DllImport("libc", SetLastError = true)]
        private static extern int __xstat(int version, byte[] path, byte[] buf);

        [DllImport("libc", SetLastError = true)]
        private static extern int __lxstat(int version, byte[] path, byte[] buf);
    }
}
