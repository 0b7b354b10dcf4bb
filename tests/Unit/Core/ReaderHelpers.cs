using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Records;

namespace XenMigration.Tests.Core;

internal static class ReaderHelpers
{
    /// <summary>Reads every record; non-seekable with <paramref name="chunk"/>-byte reads when asked.</summary>
    public static List<XenStreamRecord> ReadAll(byte[] data, bool seekable = true, int chunk = int.MaxValue, string? path = null)
    {
        Stream s = new MemoryStream(data, writable: false);
        if (!seekable)
        {
            s = new NonSeekableStream(s, chunk);
        }

        using var reader = new XenStreamReader(s, false, new XenStreamReaderOptions { SourcePath = path });
        var records = new List<XenStreamRecord>();
        XenStreamRecord? r;
        while ((r = reader.ReadNext()) is not null)
        {
            records.Add(r);
        }

        Assert.Null(reader.ReadNext());
        return records;
    }

    public static string Shape(IEnumerable<XenStreamRecord> records) =>
        string.Join(" ", records.Select(r => r.Layer + ":" + r.Type));
}
