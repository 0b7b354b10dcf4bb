using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using XenMigration.Libxc;
using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.Rules;

namespace XenMigration.Tests.PowerShell;

public class TestXenStreamTests
{
    private const string Cmd = "XenMigration.Commands.TestXenStreamCommand";

    // Good, bad (errors), and warn: valid, but with a Warning (bytes after the final END) and the
    // Information note every current Xen saver earns (HVM_CONTEXT before HVM_PARAMS).
    private static (string Good, string Bad, string Warn) Files(TempDir dir)
    {
        string good = dir.File("good.save", ImageBuilder.Build(new ImageSpec { ParamsBeforeContext = true }));
        byte[] bad = ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, Config = SampleConfig.PvJson, Vcpus = 3 });
        string badPath = dir.File("bad.save", bad);
        string warn = dir.File("warn.save", [.. ImageBuilder.Build(new ImageSpec()), .. new byte[16]]);
        return (good, badPath, warn);
    }

    [Fact]
    public void ReturnsOneBoolPerFileWithReasonsOnVerboseAndNoErrors()
    {
        using var dir = new TempDir();
        var (good, bad, warn) = Files(dir);
        var r = PsHost.Run("Test-XenStream $g, $b, $w -Verbose", ("g", good), ("b", bad), ("w", warn));
        r.AssertNoErrors();
        Assert.Equal(new object[] { true, false, true }, r.Output.Select(o => o.BaseObject));
        Assert.Contains(r.Verbose, v => v.Message.StartsWith(bad + ": Error VcpuId at offset 0x", StringComparison.Ordinal));
        Assert.Contains(r.Verbose, v => v.Message.StartsWith(warn + ": Information ContextBeforeParams at offset 0x", StringComparison.Ordinal));
        Assert.Contains(r.Verbose, v => v.Message.StartsWith(warn + ": Warning TrailingData at offset 0x", StringComparison.Ordinal) && !v.Message.Contains("record #", StringComparison.Ordinal));
        Assert.Contains(r.Verbose, v => v.Message == good + ": valid (0 errors, 0 warnings, 18 records, 35 pages)");
        Assert.Contains(r.Verbose, v => v.Message == warn + ": valid (0 errors, 1 warning, 18 records, 35 pages)");
    }

    [Fact]
    public void ScheduledJobIdiomAndStrict()
    {
        using var dir = new TempDir();
        var (good, bad, warn) = Files(dir);
        var r = PsHost.Run("""
            if (-not (Test-XenStream $b)) { 'bad detected' }
            if (Test-XenStream $g) { 'good passes' }
            Test-XenStream $w -Strict
            Test-XenStream $g -Strict
            """, ("g", good), ("b", bad), ("w", warn));
        r.AssertNoErrors();
        Assert.Equal(new object[] { "bad detected", "good passes", false, true }, r.Output.Select(o => o.BaseObject));
    }

    [Fact]
    public void DetailedWritesResultObjectsThatFilterAndFormat()
    {
        using var dir = new TempDir();
        var (good, bad, warn) = Files(dir);
        var r = PsHost.Run("""
            $all = Test-XenStream "$d/*.save" -Detailed
            $all | Where-Object -not IsValid
            $all | Out-Host
            """, ("d", dir.Path));
        r.AssertNoErrors();
        var invalid = Assert.Single(r.Objects<XenStreamValidationResult>());
        Assert.Equal(bad, invalid.FilePath);
        Assert.Equal(XenGuestType.Pv, invalid.GuestType);
        Assert.True(invalid.ErrorCount >= 4);
        Assert.All(invalid.Issues.Where(i => i.Code == XenIssueCodes.VcpuId), i => Assert.Equal(XenIssueSeverity.Error, i.Severity));
        string text = System.Text.RegularExpressions.Regex.Replace(r.HostText, "\u001b\\[[0-9;]*m", string.Empty);
        Assert.Matches(@"IsValid\s+Format\s+GuestType\s+ErrorCount\s+WarningCount\s+FilePath", text);
        Assert.Matches(@"False\s+XlSaveFile\s+Pv\s+\d+\s+0\s+" + System.Text.RegularExpressions.Regex.Escape(bad), text);
        Assert.All(invalid.Issues, i => Assert.Equal(bad, i.FilePath));
    }

    [Fact]
    public void FilesThatCannotBeTestedAreErrorsNotFalse()
    {
        using var dir = new TempDir();
        var (good, _, _) = Files(dir);
        string text = dir.File("notes.txt", "not an image"u8.ToArray());
        var r = PsHost.Run("Test-XenStream $missing, $g, $t; Test-XenStream -LiteralPath $d", ("missing", dir.Combine("none.save")), ("g", good), ("t", text), ("d", dir.Path));
        // An unrecognised file can be tested: it is simply not valid.
        Assert.Equal(new object[] { true, false }, r.Output.Select(o => o.BaseObject));
        Assert.Equal(new[] { "FileNotFound," + Cmd, "PathIsDirectory," + Cmd }, r.Errors.Select(e => e.FullyQualifiedErrorId));

        // With -Detailed the same inputs are results: one report, no second stream to merge.
        var d = PsHost.Run("Test-XenStream $missing, $g, $t -Detailed; Test-XenStream -LiteralPath $d -Detailed", ("missing", dir.Combine("none.save")), ("g", good), ("t", text), ("d", dir.Path));
        d.AssertNoErrors();
        var results = d.Objects<XenStreamValidationResult>().ToList();
        Assert.Equal(new[] { false, true, false, false }, results.Select(x => x.IsValid));
        Assert.Equal("FileNotFound", results[0].Issues.Single().Code);
        Assert.Equal(dir.Combine("none.save"), results[0].FilePath);
        Assert.Equal("PathIsDirectory", results[3].Issues.Single().Code);
    }

    [Fact]
    public void ChildItemsPipeIn()
    {
        using var dir = new TempDir();
        Files(dir);
        var r = PsHost.Run("$ExecutionContext.InvokeProvider.ChildItem.Get($d, $false) | Test-XenStream -Detailed", ("d", dir.Path));
        r.AssertNoErrors();
        Assert.Equal(3, r.Objects<XenStreamValidationResult>().Count());
    }

    [SkippableFact]
    public async Task NamedPipesAreVerified()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "mkfifo is tested on Linux");

        using var dir = new TempDir();
        string fifo = dir.Combine("stream.fifo");
        using (var mk = Process.Start("mkfifo", fifo)) { mk.WaitForExit(); }
        byte[] data = ImageBuilder.Build(new ImageSpec { Pages = 300, BatchSize = 100, ParamsBeforeContext = true });
        var writer = Task.Run(() =>
        {
            using var fs = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            for (int i = 0; i < data.Length; i += 1000)
            {
                fs.Write(data, i, Math.Min(1000, data.Length - i));
                fs.Flush();
            }
        });
        var r = PsHost.Run("Test-XenStream -LiteralPath $f -Detailed", ("f", fifo));
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        r.AssertNoErrors();
        var result = Assert.Single(r.Objects<XenStreamValidationResult>());
        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        Assert.Null(result.FileLength);
        Assert.Equal(data.Length, result.BytesRead);
    }

    [Fact]
    public void ResultsSurviveCliXmlSerializationWithTheirIssues()
    {
        using var dir = new TempDir();
        var (_, bad, _) = Files(dir);
        var r = PsHost.Run("""
            $res = Test-XenStream $b -Detailed
            $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($res))
            $copy.PSObject.TypeNames[0]
            $copy.IsValid
            $copy.ErrorCount
            $copy.Issues[0].Code
            $copy.Issues[0].Severity
            $copy.Issues[0].Offset
            $copy.Issues[0].PSObject.TypeNames[0]
            """, ("b", bad));
        r.AssertNoErrors();
        var o = r.Output.Select(x => x.BaseObject.ToString() ?? string.Empty).ToList();
        Assert.Equal("Deserialized.XenMigration.Verification.XenStreamValidationResult", o[0]);
        Assert.Equal("False", o[1]);
        Assert.NotEqual("0", o[2]);
        Assert.Equal("VcpuId", o[3]);
        Assert.Equal("Error", o[4]);
        Assert.True(long.Parse(o[5], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("Deserialized.XenMigration.Rules.XenStreamIssue", o[6]);
    }

    [Fact]
    public void ManyFilesVerifyInParallelRunspaces()
    {
        using var dir = new TempDir();
        var expected = new Dictionary<string, bool>();
        for (int i = 0; i < 16; i++)
        {
            bool good = i % 3 != 0;
            byte[] data = good
                ? ImageBuilder.Build(new ImageSpec { Pages = 50 + i, ParamsBeforeContext = true })
                : ImageBuilder.Build(new ImageSpec { Pages = 50 + i }).AsSpan(0, 5000 + i).ToArray();
            expected[dir.File($"vm{i:00}.save", data)] = good;
        }

        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { Fixtures.ModuleManifest });
        using RunspacePool pool = RunspaceFactory.CreateRunspacePool(1, 4, iss, new CapturingHost());
        pool.Open();
        var running = expected.Keys.Select(path =>
        {
            var ps = System.Management.Automation.PowerShell.Create();
            ps.RunspacePool = pool;
            ps.AddCommand("Test-XenStream").AddParameter("LiteralPath", path).AddParameter("Detailed");
            return (path, ps, handle: ps.BeginInvoke());
        }).ToList();
        foreach (var (path, ps, handle) in running)
        {
            var output = ps.EndInvoke(handle);
            Assert.False(ps.HadErrors);
            var result = (XenStreamValidationResult)Assert.Single(output).BaseObject;
            Assert.Equal(path, result.FilePath);
            Assert.Equal(expected[path], result.IsValid);
            ps.Dispose();
        }
    }
}
