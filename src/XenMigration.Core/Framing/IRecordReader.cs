using System;

namespace XenMigration.Framing
{
    /// <summary>What every pull reader of this library offers, so callers can stream any format the same way.</summary>
    /// <typeparam name="TRecord">The record type.</typeparam>
    internal interface IRecordReader<out TRecord> : IDisposable
        where TRecord : class
    {
        /// <summary>Bytes consumed so far.</summary>
        long Position { get; }

        /// <summary>Length of a seekable input; null otherwise.</summary>
        long? Length { get; }

        /// <summary>The next record, or null at the end.</summary>
        TRecord? ReadNext();
    }
}
