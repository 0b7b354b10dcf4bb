using System.Diagnostics;

namespace XenMigration.TestSupport;

/// <summary>
/// Xen's own python tools (Debian's xen-utils-4.17: verify-stream-v2, convert-legacy-stream), run
/// as the oracle of the oracle tests. <see cref="Missing"/> says why they cannot run here, if so.
/// </summary>
public static class XenTools
{
    public const string LibDir = "/usr/lib/xen-4.17";

    public static string VerifyStream => Path.Combine(LibDir, "bin", "verify-stream-v2");

    public static string ConvertLegacy => Path.Combine(LibDir, "bin", "convert-legacy-stream");

    /// <summary>Null when the tools can run; otherwise the reason, shown as the skip reason.</summary>
    public static string? Missing { get; } = FindMissing();

    private static string? FindMissing()
    {
        if (!File.Exists(VerifyStream) || !File.Exists(ConvertLegacy))
        {
            return "Xen's tools are not installed (apt-get install xen-utils-4.17; .ci/run installs them): " + VerifyStream;
        }

        try
        {
            var r = Run("python3", ["--version"], TimeSpan.FromSeconds(20));
            return r.ExitCode == 0 ? null : "python3 does not run: " + r.Output;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return "python3 is not available: " + e.Message;
        }
    }

    public sealed record Outcome(int ExitCode, string Output);

    /// <summary>verify-stream-v2 -f format -i path (format: xl, libxl, libxc).</summary>
    public static Outcome Verify(string path, string format) =>
        Run("python3", [VerifyStream, "-f", format, "-i", path], TimeSpan.FromSeconds(120));

    /// <summary>convert-legacy-stream with Xen's own options.</summary>
    public static Outcome Convert(string input, string output, int width, string guest, string format, bool xl, bool skipQemu)
    {
        var args = new List<string> { ConvertLegacy, "-i", input, "-o", output, "-w", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-g", guest, "-f", format };
        if (xl)
        {
            args.Add("-x");
        }

        if (skipQemu)
        {
            args.Add("--skip-qemu");
        }

        return Run("python3", args, TimeSpan.FromSeconds(120));
    }

    /// <summary>Runs a program and returns its exit code with stdout followed by stderr.</summary>
    public static Outcome Run(string exe, IEnumerable<string> args, TimeSpan timeout, string? pythonPath = LibDir + "/lib/python")
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (pythonPath is not null)
        {
            psi.Environment["PYTHONPATH"] = pythonPath;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException(exe + " " + string.Join(" ", args) + " did not finish in " + timeout);
        }

        p.WaitForExit();
        return new Outcome(p.ExitCode, stdout.Result + stderr.Result);
    }
}
