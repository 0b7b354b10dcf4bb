using System.Globalization;
using XenMigration.Framing;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.FileIO;

namespace XenMigration.Bench;

/// <summary>
/// Reading a 1 GiB libxc HVM image in the two extreme shapes: 256 records of 1024 pages (how Xen
/// writes) and 262,144 records of one page (the worst case for per-record cost).
/// </summary>
public static class ReaderSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        foreach (var (name, path, image) in ws.GigabyteImages())
        {
            Console.WriteLine($"reader: {name} ({new FileInfo(path).Length:N0} bytes, {image.TotalRecords:N0} records)");
            Row cat = h.Shell("Reader", name, "cat FILE > /dev/null (baseline)", $"cat '{path}' > /dev/null");
            var rows = new List<Row>
            {
                cat,
                h.Measure("Reader", name, "XenStreamReader, file", () => ReadAll(path, seekable: true)),
                h.Measure("Reader", name, "XenStreamReader, pipe (unseekable)", () => ReadAll(path, seekable: false)),
                h.Measure("Reader", name, "Get-XenStreamRecord -Type End", () => host.Invoke("(Get-XenStreamRecord -LiteralPath $f -Type End).Count", ("f", path))),
            };
            Harness.SetRatios(rows, cat);
        }
    }

    private static string ReadAll(string path, bool seekable)
    {
        Stream s = XenFile.OpenRead(path);
        if (!seekable)
        {
            s = new NonSeekableStream(s);
        }

        using var reader = new XenStreamReader(s);
        long n = 0;
        while (reader.ReadNext() is not null)
        {
            n++;
        }

        long length = new FileInfo(path).Length;
        return string.Format(CultureInfo.InvariantCulture, "{0:N0} records; read {1:N0} bytes = {2:0.00}% of the file", n, reader.BytesFetched, 100.0 * reader.BytesFetched / length);
    }
}
