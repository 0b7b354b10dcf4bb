using System.Diagnostics;
using System.Globalization;
using System.Management.Automation.Runspaces;
using XenMigration.TestSupport;

namespace XenMigration.Bench;

/// <summary>One measured row: median wall time over the runs, and a detail string.</summary>
public sealed record Row(string Suite, string Case, string What, double MedianSeconds, double MinSeconds, string Detail)
{
    public double? Ratio { get; set; }
}

/// <summary>Runs timed cases with warm-up and repetition; the median is reported.</summary>
public sealed class Harness(int runs)
{
    public List<Row> Rows { get; } = new();

    public Row Measure(string suite, string @case, string what, Func<string> action, Action? setup = null)
    {
        // Warm-up: the page cache, and the JIT's tiers (methods called per record reach their
        // optimized, profile-guided code after a couple of whole runs, as in a session that checks a
        // directory of images). The first, cold call is what the per-call overhead figures show.
        for (int w = 0; w < 3; w++)
        {
            setup?.Invoke();
            action();
        }
        var times = new List<double>();
        string detail = string.Empty;
        for (int i = 0; i < runs; i++)
        {
            setup?.Invoke(); // untimed: e.g. remove the previous output and sync, so every run starts alike
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var sw = Stopwatch.StartNew();
            detail = action();
            times.Add(sw.Elapsed.TotalSeconds);
        }

        times.Sort();
        var row = new Row(suite, @case, what, times[times.Count / 2], times[0], detail);
        Rows.Add(row);
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0,-28} {1,-40} {2,9:0.0000} s  {3}", @case, what, row.MedianSeconds, detail));
        return row;
    }

    /// <summary>Times a shell command (the baselines: cat, cp).</summary>
    public Row Shell(string suite, string @case, string what, string command, Action? setup = null) => Measure(suite, @case, what, () =>
    {
        Run(command);
        return string.Empty;
    }, setup);

    /// <summary>Runs a shell command and waits for it.</summary>
    public static void Run(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", new[] { "-c", command }) { UseShellExecute = false })!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException(command + " exited with " + p.ExitCode);
        }
    }

    public static void SetRatios(IEnumerable<Row> rows, Row baseline)
    {
        foreach (Row r in rows)
        {
            r.Ratio = r.MedianSeconds / baseline.MedianSeconds;
        }
    }

    public string Markdown()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var suite in Rows.GroupBy(r => r.Suite))
        {
            sb.AppendLine("### " + suite.Key).AppendLine();
            sb.AppendLine("| Case | What | Median (s) | Min (s) | × baseline | Detail |");
            sb.AppendLine("|---|---|---:|---:|---:|---|");
            foreach (Row r in suite)
            {
                sb.AppendLine(string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:0.0000} | {3:0.0000} | {4} | {5} |", r.Case, r.What, r.MedianSeconds, r.MinSeconds, r.Ratio is double x ? x.ToString("0.00", CultureInfo.InvariantCulture) : "", r.Detail));
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }
}

/// <summary>A runspace with the built module imported, for timing cmdlets as users run them.</summary>
public sealed class ModuleHost : IDisposable
{
    private readonly Runspace _runspace;

    public ModuleHost()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { Fixtures.ModuleManifest });
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
    }

    public string Invoke(string script, params (string Name, object Value)[] vars)
    {
        foreach (var (n, v) in vars)
        {
            _runspace.SessionStateProxy.SetVariable(n, v);
        }

        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        var output = ps.AddScript(script).Invoke();
        if (ps.HadErrors)
        {
            throw new InvalidOperationException(string.Join("; ", ps.Streams.Error));
        }

        return string.Join(",", output.Select(o => o?.ToString()));
    }

    public void Dispose() => _runspace.Dispose();
}
