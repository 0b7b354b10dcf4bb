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
            const uint Mod = 65521;
            uint a = 1, b = 0;
            foreach (byte x in data)
            {
                a = (a + x) % Mod;
                b = (b + a) % Mod;
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
