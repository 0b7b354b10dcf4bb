using System.Globalization;
using XenMigration.Verification;

namespace XenMigration.Bench;

/// <summary>
/// Test-XenStream on the two 1 GiB shapes, through the Core API and through the cmdlet, next to
/// `cat` of the same file. Targets (issue #3): under 0.05 s and 0.2 s, i.e. at least 20x faster than
/// Xen's verify-stream-v2 (about 0.9 s and 3.9 s on this machine).
/// </summary>
public static class VerifySuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        foreach (var (name, path, _) in ws.GigabyteImages())
        {
            Console.WriteLine($"verify: {name}");
            Row cat = h.Shell("Verify", name, "cat FILE > /dev/null (baseline)", $"cat '{path}' > /dev/null");
            var rows = new List<Row>
            {
                cat,
                h.Measure("Verify", name, "XenStreamVerifier.VerifyFile", () =>
                {
                    var r = XenStreamVerifier.VerifyFile(path);
                    return string.Format(CultureInfo.InvariantCulture, "valid={0}, {1:N0} records, read {2:0.00}% of the file", r.IsValid, r.RecordCount, 100.0 * r.BytesRead / r.FileLength!.Value);
                }),
                h.Measure("Verify", name, "Test-XenStream (hosted engine)", () => host.Invoke("Test-XenStream -LiteralPath $f", ("f", path))),
            };
            Harness.SetRatios(rows, cat);
        }
    }
}
