using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.XenStream
{
    /// <summary>Options of <see cref="XenStreamReader"/>.</summary>
    public sealed class XenStreamReaderOptions
    {
        /// <summary>File name stamped on every record's <see cref="XenStreamRecord.FilePath"/>.</summary>
        public string? SourcePath { get; set; }

        /// <summary>Records whose body is longer are refused (default: Xen's REC_LENGTH_MAX, 128 MiB).</summary>
        public long MaxRecordLength { get; set; } = Limits.MaxRecordLength;

        /// <summary>Read buffer size (default 256 KiB: fewer, larger reads; see docs/performance.md).</summary>
        public int BufferSize { get; set; } = StreamSource.DefaultBufferSize;
    }
}
