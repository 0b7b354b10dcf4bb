using System.IO;
using XenMigration.Framing;

namespace XenMigration.Xenstore
{
    /// <summary>Opens either daemon's dump: the binary migration format (C xenstored) or oxenstored's text dump.</summary>
    internal static class XenstoreDumpOpener
    {
        /// <summary>A reader for the dump at the start of <paramref name="stream"/>, chosen by its first bytes.</summary>
        public static IRecordReader<XenstoreRecord> Open(Stream stream, string? path)
        {
            // A file is probed by seeking back; a pipe through a stream that replays what was probed.
            Stream input = stream.CanSeek ? stream : new PeekStream(stream);
            return OxenstoredDumpReader.Probe(PeekStream.Probe(input, FormatDetector.ProbeLength))
                ? new OxenstoredDumpReader(input, leaveOpen: false, path)
                : new XenstoreDumpReader(input, leaveOpen: false, new XenstoreDumpReaderOptions { SourcePath = path });
        }
    }
}
