using System;
using System.Runtime.InteropServices;
using System.Text;

namespace XenMigration.FileIO
{
    /// <summary>
    /// The few libc calls the file handling needs on Linux (stat, chmod, chown, umask), where .NET
    /// Standard 2.0 has no API for them. Elsewhere, or if libc cannot be called, each returns
    /// "unknown" and callers fall back to what .NET offers.
    /// </summary>
    internal static class Posix
    {
        // struct stat on x86_64: st_dev 0, st_ino 8, st_nlink 16, st_mode 24, st_uid 28, st_gid 32.
        // On arm64 (the generic layout): st_dev 0, st_ino 8, st_mode 16, st_nlink 20, st_uid 24, st_gid 28.
        private const int StatBufferSize = 256;

        private static readonly int s_modeOffset =
            !RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? -1 :
            RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 :
            RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 16 : -1;

        private static volatile bool s_libcFailed;

        /// <summary>Whether these calls work here.</summary>
        public static bool Available => s_modeOffset >= 0 && !s_libcFailed;

        /// <summary>The file's stat, following links or not; null when unknown or missing.</summary>
        public static StatInfo? Stat(string path, bool follow)
        {
            if (!Available)
            {
                return null;
            }

            var buf = new byte[StatBufferSize];
            byte[] name = Encoding.UTF8.GetBytes(path + "\0");   // libc takes NUL-terminated UTF-8
            int rc = Call(() =>
            {
                try
                {
                    return follow ? stat(name, buf) : lstat(name, buf);
                }
                catch (EntryPointNotFoundException)
                {
                    // glibc before 2.33 exports only the versioned wrappers.
                    return follow ? __xstat(1, name, buf) : __lxstat(1, name, buf);
                }
            });
            if (rc != 0)
            {
                return null;
            }

            return new StatInfo(
                BitConverter.ToUInt64(buf, 0),
                BitConverter.ToUInt64(buf, 8),
                BitConverter.ToUInt32(buf, s_modeOffset),
                BitConverter.ToUInt32(buf, s_modeOffset + 4),
                BitConverter.ToUInt32(buf, s_modeOffset + 8));
        }

        /// <summary>Sets the permission bits; false when that cannot be done here.</summary>
        public static bool Chmod(string path, uint mode) => Available && Call(() => chmod(Encoding.UTF8.GetBytes(path + "\0"), mode)) == 0;

        /// <summary>Sets the owner and group; false when not permitted (only root may give files away).</summary>
        public static bool Chown(string path, uint uid, uint gid) => Available && Call(() => chown(Encoding.UTF8.GetBytes(path + "\0"), uid, gid)) == 0;

        /// <summary>The process's file-creation mask, or null when unknown.</summary>
        public static uint? Umask()
        {
            if (!Available)
            {
                return null;
            }

            // umask(2) can only be read by setting it: set a strict one, then put the old one back.
            int old = Call(() => umask(0x3F));
            if (old < 0)
            {
                return null;
            }

            Call(() => umask((uint)old));
            return (uint)old;
        }

        private static int Call(Func<int> f)
        {
            try
            {
                return f();
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is BadImageFormatException)
            {
                s_libcFailed = true;
                return -1;
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

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(byte[] path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern int chown(byte[] path, uint owner, uint group);

        [DllImport("libc", SetLastError = true)]
        private static extern int umask(uint mask);
    }

    /// <summary>What stat(2) says of a file.</summary>
    internal readonly struct StatInfo
    {
        public StatInfo(ulong device, ulong inode, uint mode, uint uid, uint gid)
        {
            Device = device;
            Inode = inode;
            Mode = mode;
            Uid = uid;
            Gid = gid;
        }

        public ulong Device { get; }

        public ulong Inode { get; }

        /// <summary>st_mode: file type and permission bits.</summary>
        public uint Mode { get; }

        /// <summary>The permission bits (with setuid, setgid and sticky).</summary>
        public uint Permissions => Mode & 0xFFF;

        public uint Uid { get; }

        public uint Gid { get; }
    }
}
