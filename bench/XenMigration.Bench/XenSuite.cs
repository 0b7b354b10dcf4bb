using System.Globalization;
using XenMigration.TestSupport;
using XenMigration.Verification;

namespace XenMigration.Bench;

/// <summary>
/// Test-XenStream next to Xen's own verify-stream-v2 (Debian's xen-utils-4.17, run by the real
/// python interpreter) and `cat`, on the same files in the same run, with the speed-up over Xen.
/// Also the per-call cost on a tiny file, split into the verifier itself and the rest (engine,
/// parameter binding, path resolution, output).
/// </summary>
public static class XenSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        bool haveXen = XenTools.Missing is null;
        if (!haveXen)
        {
            Console.WriteLine("xen: Xen's verify-stream-v2 is not installed (apt-get install xen-utils-4.17); only Test-XenStream and cat are measured.");
        }

        foreach (var (name, path, _) in ws.GigabyteImages())
        {
            Console.WriteLine($"xen: {name}");
            Row cat = h.Shell("Xen", name, "cat FILE > /dev/null (baseline)", $"cat '{path}' > /dev/null");
            Row ours = h.Measure("Xen", name, "Test-XenStream (hosted engine)", () => host.Invoke("Test-XenStream -LiteralPath $f", ("f", path)));
            var rows = new List<Row> { cat, ours };
            if (haveXen)
            {
                Row xen = h.Shell("Xen", name, "Xen verify-stream-v2 -f libxc", $"PYTHONPATH={XenTools.LibDir}/lib/python python3 {XenTools.VerifyStream} -q -f libxc -i '{path}'");
                rows.Add(xen);
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  Test-XenStream is {0:0.0}x faster than Xen's verifier", xen.MedianSeconds / ours.MedianSeconds));
            }

            Harness.SetRatios(rows, cat);
        }

        string tiny = Path.Combine(ws.Dir, "tiny.save");
        File.WriteAllBytes(tiny, SampleFiles.All["pv-domain.xlsave"]());
        Console.WriteLine("xen: per-call overhead on a tiny file");
        Row core = h.Measure("Xen", "tiny (pv-domain.xlsave)", "XenStreamVerifier.VerifyFile (Core)", () => XenStreamVerifier.VerifyFile(tiny).IsValid.ToString());
        Row cmdlet = h.Measure("Xen", "tiny (pv-domain.xlsave)", "Test-XenStream (hosted engine)", () => host.Invoke("Test-XenStream -LiteralPath $f", ("f", tiny)));
        Row empty = h.Measure("Xen", "tiny (pv-domain.xlsave)", "an empty pipeline in the same engine", () => host.Invoke("$null"));
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  per call: {0:0.000} ms in all = {1:0.000} ms verifying + {2:0.000} ms engine invocation + {3:0.000} ms cmdlet (binding, path resolution, output)",
            cmdlet.MedianSeconds * 1e3, core.MedianSeconds * 1e3, empty.MedianSeconds * 1e3, (cmdlet.MedianSeconds - core.MedianSeconds - empty.MedianSeconds) * 1e3));
    }
}
