using System;

namespace XenMigration.Compression
{
    /// <summary>The checksums compressed formats carry: CRC-32 (gzip) and Adler-32 (zlib).</summary>
    internal static class Checksums
    {
        private static readonly uint[] s_crcTable = BuildCrcTable();

        /// <summary>Continues a CRC-32 (IEEE 802.3, as gzip computes it) over <paramref name="data"/>; start with 0.</summary>
        public static uint Crc32(uint crc, ReadOnlySpan<byte> data)
        {
            uint c = ~crc;
            foreach (byte b in data)
            {
                c = s_crcTable[(c ^ b) & 0xFF] ^ (c >> 8);
            }

            return ~c;
        }

        /// <summary>The Adler-32 of <paramref name="data"/> (RFC 1950, the zlib trailer).</summary>
        public static uint Adler32(ReadOnlySpan<byte> data)
        {
            // zlib's way: the sums are reduced once per 5552 bytes (NMAX, the most that cannot overflow
            // 32 bits), not once per byte; lzop checks every block of a multi-GiB image with it.
            const uint Mod = 65521;
            const int Nmax = 5552;
            uint a = 1, b = 0;
            while (data.Length > 0)
            {
                int n = Math.Min(Nmax, data.Length);
                foreach (byte x in data.Slice(0, n))
                {
                    a += x;
                    b += a;
                }

                a %= Mod;
                b %= Mod;
                data = data.Slice(n);
            }

            return (b << 16) | a;
        }

        private static uint[] BuildCrcTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
                }

                table[n] = c;
            }

            return table;
        }
    }
}
