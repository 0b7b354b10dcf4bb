namespace XenMigration.Bench;

/// <summary>
/// Export-XenStream's round trip of the two 1 GiB images next to cp (issue #24: page payloads are
/// copied from the source file, not held, so a round trip costs close to a copy plus a verification).
/// </summary>
public static class RewriteSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        foreach (var (name, path, _) in ws.GigabyteImages())
        {
            string output = Path.Combine(ws.Dir, "rewrite.out");
            Row cp = h.Shell("Rewrite", name, "cp FILE OUT (baseline)", $"cp '{path}' '{output}'");
            var rows = new List<Row>
            {
                cp,
                h.Measure("Rewrite", name, "round trip: Get-XenStreamRecord, Export-XenStream (hosted engine)", () => host.Invoke("Get-XenStreamRecord -LiteralPath $p | Export-XenStream -Destination $o -Force", ("p", path), ("o", output))),
                h.Measure("Rewrite", name, "one edit: ... Set-XenTscInfo -Khz 2100000, Export-XenStream", () => host.Invoke("Get-XenStreamRecord -LiteralPath $p | Set-XenTscInfo -Khz 2100000 | Export-XenStream -Destination $o -Force", ("p", path), ("o", output))),
            };
            Harness.SetRatios(rows, cp);
            File.Delete(output);
        }
    }
}
