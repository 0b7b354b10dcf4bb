using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;

namespace XenMigration.Framing
{
    /// <summary>
    /// The one collection rule of this library: what a record or table hands out is a read-only
    /// view over what it decoded, never the array itself (a script could otherwise change every
    /// later decode) and never a fresh copy on each access.
    /// </summary>
    internal static class ReadOnlyView
    {
        /// <summary>A read-only view of <paramref name="items"/>.</summary>
        public static IReadOnlyList<T> Of<T>(IEnumerable<T> items) => items switch
        {
            ReadOnlyCollection<T> view => view,
            ICollection<T> { Count: 0 } => Array.Empty<T>(),
            IList<T> list => new ReadOnlyCollection<T>(list),
            _ => new ReadOnlyCollection<T>(new List<T>(items)),
        };
    }

    /// <summary>
    /// Bytes a record decoded (a page, a value, an unknown entry's payload), read-only. Index it,
    /// pipe it to Format-Hex, or take a copy with <see cref="ToArray"/> where an array is needed.
    /// </summary>
    public sealed class ReadOnlyBytes : IReadOnlyList<byte>
    {
        private readonly byte[] _bytes;

        internal ReadOnlyBytes(byte[] bytes) => _bytes = bytes ?? throw new ArgumentNullException(nameof(bytes));

        /// <summary>Number of bytes.</summary>
        public int Count => _bytes.Length;

        /// <summary>Number of bytes (as arrays call it).</summary>
        public int Length => _bytes.Length;

        /// <inheritdoc/>
        public byte this[int index] => _bytes[index];

        /// <summary>A copy of the bytes.</summary>
        public byte[] ToArray() => (byte[])_bytes.Clone();

        /// <summary>Writes the bytes to <paramref name="stream"/>.</summary>
        public void CopyTo(Stream stream)
        {
            if (stream is null)
            {
                throw new ArgumentNullException(nameof(stream));
            }

            stream.Write(_bytes, 0, _bytes.Length);
        }

        internal ReadOnlySpan<byte> Span => _bytes;

        /// <inheritdoc/>
        public IEnumerator<byte> GetEnumerator() => ((IEnumerable<byte>)_bytes).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => _bytes.GetEnumerator();

        /// <inheritdoc/>
        public override string ToString() => HexText.Of(_bytes);
    }
}
