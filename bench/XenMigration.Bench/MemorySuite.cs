using System.Globalization;

namespace XenMigration.Bench;

/// <summary>
/// Export-GuestMemory of a 1 GiB Xen HVM image (256 batches of 1024 pages) next to `cp` of the same
/// file. Target (issue #20): at most 1.5x cp. Outputs are deleted and `sync` run between runs
/// (untimed). Peak memory of the export process is reported beside, as the image's size does not
/// change it.
/// </summary>
public static class MemorySuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        string input = ws.GigabyteImages().First().Path;
        string output = Path.Combine(ws.Dir, "memory.out");
        Console.WriteLine($"memory: {input} ({new FileInfo(input).Length:N0} bytes)");
        void Clean()
        {
            File.Delete(output);
            Harness.Run("sync");
        }

        Row cp = h.Shell("Memory", "1 GiB Xen HVM image", "cp FILE NEWFILE (baseline)", $"cp '{input}' '{output}'", Clean);
        var rows = new List<Row>
        {
            cp,
            h.Measure("Memory", "1 GiB Xen HVM image", "Export-GuestMemory -Format Raw", () =>
                host.Invoke("Export-GuestMemory -LiteralPath $i -Destination $o -Format Raw; 'ok'", ("i", input), ("o", output)), Clean),
            h.Measure("Memory", "1 GiB Xen HVM image", "Export-GuestMemory -Format Elf", () =>
                host.Invoke("Export-GuestMemory -LiteralPath $i -Destination $o -Format Elf; 'ok'", ("i", input), ("o", output)), Clean),
        };
        Harness.SetRatios(rows, cp);
        File.Delete(output);
    }
}
