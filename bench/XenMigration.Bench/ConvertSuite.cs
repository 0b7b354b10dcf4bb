using System.Globalization;
using XenMigration.Framing;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.FileIO;

namespace XenMigration.Bench;

/// <summary>
/// Converting a 1 GiB legacy HVM image (256 batches of 1024 pages) next to `cp` of the same file.
/// Target (issue #4): at most 1.5x cp. Before every timed run the previous output is deleted and
/// `sync` flushes dirty pages (untimed), so no run pays for an earlier run's writeback.
/// </summary>
public static class ConvertSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        string input = ws.LegacyGigabyteImage();
        string output = Path.Combine(ws.Dir, "converted.save");
        Console.WriteLine($"convert: {input} ({new FileInfo(input).Length:N0} bytes)");
        void Clean()
        {
            File.Delete(output);
            Harness.Run("sync");
        }

        Row cp = h.Shell("Convert", "256 x 1024 pages", "cp FILE NEWFILE (baseline)", $"cp '{input}' '{output}'", Clean);
        var rows = new List<Row>
        {
            cp,
            h.Measure("Convert", "256 x 1024 pages", "ConvertTo-XenStreamV2 to a new file (temp, verify, rename)", () =>
                host.Invoke("ConvertTo-XenStreamV2 -LiteralPath $i -Destination $o -GuestType Hvm -Format Libxl; 'ok'", ("i", input), ("o", output)), Clean),
            h.Measure("Convert", "256 x 1024 pages", "LegacyStreamConverter.Convert (file to new file)", () =>
            {
                using var i = XenFile.OpenRead(input);
                // CreateNew, not Create: ext4 flushes a file on close when it was truncated to zero
                // first (auto_da_alloc), which would time the disk rather than the converter.
                using var o = new FileStream(output, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
                var r = LegacyStreamConverter.Convert(i, o, new LegacyConversionOptions { GuestType = XenGuestType.Hvm });
                return string.Format(CultureInfo.InvariantCulture, "{0:N0} pages, {1:N0} bytes written", r.Pages, r.BytesWritten);
            }, Clean),
            h.Measure("Convert", "256 x 1024 pages", "ConvertTo-XenStreamV2 replacing a file (fsync before rename)", () =>
                host.Invoke("ConvertTo-XenStreamV2 -LiteralPath $i -Destination $o -GuestType Hvm -Format Libxl; 'ok'", ("i", input), ("o", output)), () => Harness.Run("sync")),
        };
        Harness.SetRatios(rows, cp);
        File.Delete(output);
    }
}
