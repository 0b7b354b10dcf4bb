using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>Finds the JSON VM description at the end of a seekable QEMU stream, before walking it.</summary>
    internal static class QemuDescriptionLocator
    {
        /// <summary>
        /// The description at the end of <paramref name="stream"/> without walking the stream: a 0x06,
        /// a be32 length, and JSON that ends exactly at the end (docs/formats §8.9). Null when absent.
        /// </summary>
        public static string? Locate(Stream stream)
        {
            long end = stream.Length;
            if (end < 16)
            {
                return null;
            }

            byte[] last = new byte[1];
            stream.Position = end - 1;
            if (ForwardReadStream.ReadFully(stream, last, 0, 1) != 1 || last[0] != (byte)'}')
            {
                return null;
            }

            const int Window = 1 << 20;
            long scanned = 0;
            while (scanned < Limits.MaxQemuDescription && scanned < end)
            {
                long windowEnd = end - scanned;
                long windowStart = Math.Max(0, windowEnd - Window);
                int size = (int)(Math.Min(windowEnd + 5, end) - windowStart);   // 5 bytes of overlap for a header across windows
                byte[] buf = new byte[size];
                stream.Position = windowStart;
                if (ForwardReadStream.ReadFully(stream, buf, 0, size) != size)
                {
                    return null;
                }

                for (int i = (int)(windowEnd - windowStart) - 1; i >= 0; i--)
                {
                    if (buf[i] != QemuFormat.VmDescription || i + 6 > size)
                    {
                        continue;
                    }

                    long json = windowStart + i + 5;
                    uint length = BinaryPrimitives.ReadUInt32BigEndian(buf.AsSpan(i + 1));
                    if (json + length == end && buf[i + 5] == (byte)'{' && windowStart + i > 0)
                    {
                        byte[] text = new byte[length];
                        stream.Position = json;
                        return ForwardReadStream.ReadFully(stream, text, 0, text.Length) == text.Length ? Encoding.UTF8.GetString(text) : null;
                    }
                }

                scanned += windowEnd - windowStart;
            }

            return null;
        }
    }
}
