using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace XenMigration.FileIO
{
    /// <summary>
    /// File-to-file copies done by the Linux kernel (copy_file_range), so bulk payloads such as page
    /// contents move from the page cache to the page cache without two trips through user memory —
    /// what cp does. Anywhere else, or when the kernel declines, callers fall back to read/write.
    /// </summary>
    internal static class KernelCopy
    {
        private static volatile bool s_unavailable = !RuntimeInformation.IsOSPlatform(OSPlatform.Linux);

        public static bool IsAvailable => !s_unavailable;

        /// <summary>
        /// Copies up to <paramref name="count"/> bytes between explicit offsets (the descriptors'
        /// own offsets are not moved). Returns the bytes copied, which is less than asked when the
        /// kernel stops or refuses (the caller copies the rest itself).
        /// </summary>
        public static long Copy(SafeFileHandle input, long inputOffset, SafeFileHandle output, long outputOffset, long count)
        {
            if (s_unavailable || count <= 0)
            {
                return 0;
            }

            bool inRef = false, outRef = false;
            try
            {
                input.DangerousAddRef(ref inRef);
                output.DangerousAddRef(ref outRef);
                int fdIn = input.DangerousGetHandle().ToInt32();
                int fdOut = output.DangerousGetHandle().ToInt32();
                long total = 0;
                while (total < count)
                {
                    long offIn = inputOffset + total;
                    long offOut = outputOffset + total;
                    long n = copy_file_range(fdIn, ref offIn, fdOut, ref offOut, (UIntPtr)(ulong)Math.Min(count - total, 1L << 30), 0).ToInt64();
                    if (n <= 0)
                    {
                        if (n < 0 && Marshal.GetLastWin32Error() == 38 /* ENOSYS */)
                        {
                            s_unavailable = true;
                        }

                        break;
                    }

                    total += n;
                }

                return total;
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException || ex is DllNotFoundException)
            {
                s_unavailable = true;
                return 0;
            }
            finally
            {
                if (inRef)
                {
                    input.DangerousRelease();
                }

                if (outRef)
                {
                    output.DangerousRelease();
                }
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr copy_file_range(int fdIn, ref long offIn, int fdOut, ref long offOut, UIntPtr length, uint flags);
    }
}
