using System.Globalization;
using XenMigration.Bench;
using XenMigration.TestSupport;

// Usage: dotnet run -c Release --project bench/XenMigration.Bench -- [--runs N] [--dir DIR] [suite...]
// Suites: reader, verify, xen, convert, info, memory, rewrite, xenstore, qemu (default: all). Prints each figure as it is measured, then a markdown table.
int runs = 5;
string dir = Path.Combine(Path.GetTempPath(), "xenmigration-bench");
var suites = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--dir": dir = args[++i]; break;
        default: suites.Add(args[i].ToLowerInvariant()); break;
    }
}

bool All(string s) => suites.Count == 0 || suites.Contains(s);
var h = new Harness(runs);
var ws = new Workspace(dir);
using var host = new ModuleHost();
Console.WriteLine($"XenMigration benchmarks: {runs} runs per figure (median), files in {dir}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
if (All("reader"))
{
    ReaderSuite.Run(h, ws, host);
}

if (All("verify"))
{
    VerifySuite.Run(h, ws, host);
}

if (All("convert"))
{
    ConvertSuite.Run(h, ws, host);
}

if (All("info"))
{
    InfoSuite.Run(h, ws, host);
}

if (All("memory"))
{
    MemorySuite.Run(h, ws, host);
}

if (All("rewrite"))
{
    RewriteSuite.Run(h, ws, host);
}

if (All("xen"))
{
    XenSuite.Run(h, ws, host);
}

if (All("xenstore"))
{
    XenstoreSuite.Run(h, ws, host);
}

if (All("qemu"))
{
    QemuSuite.Run(h, ws, host);
}

Console.WriteLine();
Console.WriteLine(h.Markdown());
