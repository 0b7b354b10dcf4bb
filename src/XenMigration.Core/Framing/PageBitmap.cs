using System.Collections.Generic;

namespace XenMigration.Framing
{
    /// <summary>A set of page numbers as a sparse bitmap: 512 bytes per 4,096 pages (16 MiB of guest memory) that hold any.</summary>
    internal sealed class PageBitmap
    {
        private readonly Dictionary<ulong, ulong[]> _chunks = new Dictionary<ulong, ulong[]>();

        /// <summary>Pages in the set.</summary>
        public long Count { get; private set; }

        public bool Get(ulong page) => _chunks.TryGetValue(page >> 12, out ulong[]? c) && (c[(page >> 6) & 63] & (1UL << (int)(page & 63))) != 0;

        public void Set(ulong page, bool value)
        {
            if (!_chunks.TryGetValue(page >> 12, out ulong[]? c))
            {
                if (!value)
                {
                    return;
                }

                c = new ulong[64];
                _chunks[page >> 12] = c;
            }

            ulong bit = 1UL << (int)(page & 63);
            ulong word = c[(page >> 6) & 63];
            if (((word & bit) != 0) != value)
            {
                Count += value ? 1 : -1;
                c[(page >> 6) & 63] = value ? word | bit : word & ~bit;
            }
        }
    }

}
