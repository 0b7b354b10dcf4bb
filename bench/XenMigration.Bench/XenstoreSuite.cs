using System.Globalization;
using XenMigration.Framing;
using XenMigration.TestSupport;
using XenMigration.Xenstore;
using XenMigration.FileIO;

namespace XenMigration.Bench;

/// <summary>Import and export of a dump with one million nodes, next to cat / cp of the file.</summary>
public static class XenstoreSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        string dump = ws.LargeXenstoreDump(1_000_000);
        string copy = Path.Combine(ws.Dir, "xenstore-copy.dump");
        Console.WriteLine($"xenstore: {dump} ({new FileInfo(dump).Length:N0} bytes)");
        Row cat = h.Shell("Xenstore", "1,000,000 nodes", "cat FILE > /dev/null (baseline for reading)", $"cat '{dump}' > /dev/null");
        Row cp = h.Shell("Xenstore", "1,000,000 nodes", "cp FILE NEWFILE (baseline for writing)", $"cp '{dump}' '{copy}'", () => File.Delete(copy));
        Row read = h.Measure("Xenstore", "1,000,000 nodes", "XenstoreDumpReader (read every record)", () =>
        {
            using var reader = new XenstoreDumpReader(XenFile.OpenRead(dump));
            long n = 0;
            while (reader.ReadNext() is not null)
            {
                n++;
            }

            return n.ToString("N0", CultureInfo.InvariantCulture) + " records";
        });
        Row plan = h.Measure("Xenstore", "1,000,000 nodes", "XenstoreDumpReader into XenstoreDumpPlan, then Write (Core)", () =>
        {
            var p = new XenstoreDumpPlan();
            using (var reader = new XenstoreDumpReader(XenFile.OpenRead(dump)))
            {
                XenstoreRecord? r;
                while ((r = reader.ReadNext()) is not null)
                {
                    p.Add(r);
                }
            }

            using var o = new FileStream(copy, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
            p.Write(o, 2, false);
            return "ok";
        }, () => File.Delete(copy));
        Row import = h.Measure("Xenstore", "1,000,000 nodes", "Import-XenstoreDump, counted by ForEach-Object (hosted engine)", () =>
            host.Invoke("$n = 0; Import-XenstoreDump -LiteralPath $f | ForEach-Object { $n++ }; $n", ("f", dump)));
        Row export = h.Measure("Xenstore", "1,000,000 nodes", "Import-XenstoreDump piped to Export-XenstoreDump", () =>
            host.Invoke("Import-XenstoreDump -LiteralPath $f | Export-XenstoreDump -LiteralPath $o; 'ok'", ("f", dump), ("o", copy)), () => File.Delete(copy));
        Harness.SetRatios(new[] { cat, read, import }, cat);
        Harness.SetRatios(new[] { cp, plan, export }, cp);
        File.Delete(copy);
    }
}
