using System.Text.Json;
using XenMigration.Libxc;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using XenMigration.Verification;

namespace XenMigration.Tests.Validation;

/// <summary>Invoke-XenStreamValidation (issue 23): a tree of images, checked in parallel, one report, incremental reruns.</summary>
public class FleetValidationTests
{
    // 300 small images in nested folders (a few broken), two large ones, a non-image and a leftover temp file.
    private static (List<string> Images, HashSet<string> Broken) MakeTree(TempDir dir)
    {
        var images = new List<string>();
        var broken = new HashSet<string>(StringComparer.Ordinal);
        byte[] hvm = ImageBuilder.Build(new ImageSpec { Pages = 8, BatchSize = 4 });
        byte[] pv = ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, Config = SampleConfig.PvJson, EmulatorState = null, XenstoreData = false, Pages = 8 });
        for (int i = 0; i < 300; i++)
        {
            string folder = Path.Combine(dir.Path, "host" + (i % 7).ToString("00", System.Globalization.CultureInfo.InvariantCulture), i % 2 == 0 ? "hvm" : "pv");
            Directory.CreateDirectory(folder);
            string path = Path.Combine(folder, "vm" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture) + ".save");
            byte[] bytes = i % 2 == 0 ? hvm : pv;
            if (i % 50 == 7)
            {
                bytes = bytes.AsSpan(0, bytes.Length / 2).ToArray();   // truncated
                broken.Add(path);
            }

            File.WriteAllBytes(path, bytes);
            images.Add(path);
        }

        foreach (string big in new[] { "big-a.save", "big-b.save" })
        {
            string path = Path.Combine(dir.Path, "large", big);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            new SyntheticImage(64, 256).WriteTo(path);   // 64 MiB each
            images.Add(path);
        }

        File.WriteAllText(Path.Combine(dir.Path, "host00", "notes.txt"), "not an image");
        File.WriteAllText(Path.Combine(dir.Path, "host00", ".vm000.save.0123456789abcdef0123456789abcdef.tmp"), "a write in progress");
        images.Sort(StringComparer.Ordinal);
        return (images, broken);
    }

    [Fact]
    public void ATreeIsCheckedInPathOrderWithOneJsonAndOneCsvReport()
    {
        using var dir = new TempDir();
        var (images, broken) = MakeTree(dir);
        string json = Path.Combine(dir.Path, "report.json"), csv = Path.Combine(dir.Path, "report.csv");
        var r = PsHost.Run("Invoke-XenStreamValidation -LiteralPath $d -Recurse -Include *.save -ReportPath $j, $c -ThrottleLimit 4", ("d", dir.Path), ("j", json), ("c", csv));
        r.AssertNoErrors();
        var rows = r.Objects<XenImageValidation>().ToList();
        Assert.Equal(images, rows.Select(x => x.Path));
        Assert.Equal(broken.OrderBy(p => p, StringComparer.Ordinal), rows.Where(x => !x.IsValid).Select(x => x.Path));
        Assert.All(rows.Where(x => broken.Contains(x.Path)), x => Assert.StartsWith("UnexpectedEndOfStream: ", x.FirstError, StringComparison.Ordinal));
        Assert.All(rows, x => Assert.Equal(64, x.HeaderSha256.Length));

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement summary = doc.RootElement.GetProperty("summary");
        Assert.Equal(302, summary.GetProperty("images").GetInt32());
        Assert.Equal(broken.Count, summary.GetProperty("invalid").GetInt32());
        Assert.Equal(images, doc.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetProperty("Path").GetString()));

        // The CSV: a header and one quoted line per image, in the same order (Import-Csv reads it: tests/Pester/Validation.Tests.ps1).
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal("\"Path\",\"Verdict\",\"Format\"", string.Join(",", lines[0].Split(',').Take(3)));
        Assert.Equal(rows.Select(x => "\"" + x.Path + "\",\"" + x.Verdict + "\""), lines.Skip(1).Select(l => string.Join(",", l.Split(',').Take(2))));

        // Without -Include, the note is an image that is not one; the temp file is never one.
        var all = PsHost.Run("Invoke-XenStreamValidation -LiteralPath $d -Recurse", ("d", Path.Combine(dir.Path, "host00")));
        var note = Assert.Single(all.Objects<XenImageValidation>(), x => x.Path.EndsWith("notes.txt", StringComparison.Ordinal));
        Assert.Equal("Invalid", note.Verdict);
        Assert.StartsWith("UnrecognizedFormat", note.FirstError, StringComparison.Ordinal);
        Assert.DoesNotContain(all.Objects<XenImageValidation>(), x => x.Path.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void AnIncrementalRunChecksOnlyWhatChanged()
    {
        using var dir = new TempDir();
        var (images, _) = MakeTree(dir);
        string json = Path.Combine(dir.Path, "nightly.json");
        PsHost.Run("Invoke-XenStreamValidation $d -Recurse -Include *.save -ReportPath $j -Incremental", ("d", dir.Path), ("j", json)).AssertNoErrors();

        // One image rewritten with other bytes of the same size and time, one grown, one new.
        string same = images[10];
        DateTime time = File.GetLastWriteTimeUtc(same);
        byte[] b = File.ReadAllBytes(same);
        b[100] ^= 0xFF;
        File.WriteAllBytes(same, b);
        File.SetLastWriteTimeUtc(same, time);
        File.AppendAllText(images[20], "x");
        string added = Path.Combine(dir.Path, "host01", "new.save");
        File.Copy(images[0], added);

        var second = PsHost.Run("Invoke-XenStreamValidation $d -Recurse -Include *.save -ReportPath $j -Incremental", ("d", dir.Path), ("j", json));
        second.AssertNoErrors();
        var rows = second.Objects<XenImageValidation>().ToList();
        Assert.Equal(303, rows.Count);
        Assert.Equal(new[] { same, images[20], added }.OrderBy(p => p, StringComparer.Ordinal), rows.Where(x => !x.Reused).Select(x => x.Path));

        // A report that is not one is refused rather than taken as "nothing checked before".
        File.WriteAllText(json, "[1, 2, 3]");
        var bad = PsHost.Run("Invoke-XenStreamValidation $d -Recurse -ReportPath $j -Incremental", ("d", dir.Path), ("j", json));
        Assert.StartsWith("PreviousReportUnreadable,", Assert.Single(bad.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        var noJson = PsHost.Run("Invoke-XenStreamValidation $d -Incremental", ("d", dir.Path));
        Assert.StartsWith("IncrementalNeedsJsonReport,", Assert.Single(noJson.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
    }

    [Fact]
    public void FinishedRowsWaitingForASlowImageAreBounded()
    {
        using var dir = new TempDir();
        var paths = new List<string>();
        byte[] image = ImageBuilder.Build(new ImageSpec { Pages = 4 });
        for (int i = 0; i < 200; i++)
        {
            paths.Add(dir.File("i" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture) + ".save", image));
        }

        // Nobody takes the rows: no more than four times the throttle limit are checked ahead.
        using var run = new FleetValidationRun(paths, new FleetValidationOptions { ThrottleLimit = 2 });
        Thread.Sleep(1500);
        Assert.InRange(run.Completed, 1, 8);
        int n = 0;
        while (!run.IsFinished)
        {
            if (run.TryGetNext(TimeSpan.FromSeconds(10), out XenImageValidation? row))
            {
                Assert.Equal(paths[n++], row!.Path);
            }
        }

        Assert.Equal(200, n);
    }
}
