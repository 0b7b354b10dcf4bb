namespace XenMigration.Bench;

/// <summary>
/// Get-XenSaveInfo next to Test-XenStream on the two 1 GiB images (issue #21: it must cost what
/// Test-XenStream costs, within noise: neither reads page payloads).
/// </summary>
public static class InfoSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        foreach (var (name, path, _) in ws.GigabyteImages())
        {
            Row cat = h.Shell("Info", name, "cat FILE > /dev/null (baseline)", $"cat '{path}' > /dev/null");
            var rows = new List<Row>
            {
                cat,
                h.Measure("Info", name, "Test-XenStream (hosted engine)", () => host.Invoke("Test-XenStream -LiteralPath $p", ("p", path))),
                h.Measure("Info", name, "Get-XenSaveInfo (hosted engine)", () => host.Invoke("(Get-XenSaveInfo -LiteralPath $p).PagesPresent", ("p", path))),
            };
            Harness.SetRatios(rows, cat);
        }
    }
}
