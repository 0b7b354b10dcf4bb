using System.Management.Automation;
using System.Reflection;
using XenMigration.Libxc;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Records;

namespace XenMigration.Tests.PowerShell;

public class GetXenStreamRecordTests
{
    private const string Cmd = "XenMigration.Commands.GetXenStreamRecordCommand";

    [Fact]
    public void ModuleImportsFromTheBuiltManifestAndExportsTheCmdlet()
    {
        var r = PsHost.Run("""
            $m = Get-Module XenMigration
            $m.Version.ToString()
            $m.ExportedCmdlets.Keys
            (Get-Command Get-XenStreamRecord).OutputType.Type.FullName
            (Test-ModuleManifest -Path $manifest).Name
            """, ("manifest", Fixtures.ModuleManifest));
        r.AssertNoErrors();
        var lines = r.Output.Select(o => o.ToString()).ToList();
        // One version source: the manifest's ModuleVersion; the assemblies follow it.
        string manifest = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "XenMigration.psd1"));
        Assert.Contains("ModuleVersion          = '" + lines[0] + "'", manifest, StringComparison.Ordinal);
        Assert.Equal(new Version(lines[0] + ".0"), typeof(XenStreamRecord).Assembly.GetName().Version);
        Assert.Contains("Get-XenStreamRecord", lines);
        Assert.Contains(typeof(XenStreamRecord).FullName, lines);
        Assert.Equal("XenMigration", lines[^1]);
    }

    [Fact]
    public void ListsTypedRecordsInFileOrderAndFiltersWithWhere()
    {
        using var dir = new TempDir();
        string file = dir.File("hvm.xlsave", ImageBuilder.Build(new ImageSpec { Pages = 40, BatchSize = 16 }));
        var r = PsHost.Run("""
            $all = Get-XenStreamRecord $f
            $pages = Get-XenStreamRecord $f | Where Type -eq PageData
            $byString = Get-XenStreamRecord $f | Where-Object { $_.Type -eq 'PageData' }
            $all.Count; $pages.Count; $byString.Count
            $all[0]; $pages[0]
            """, ("f", file));
        r.AssertNoErrors();
        Assert.Equal(18, (int)r.Output[0].BaseObject);
        Assert.Equal(3, (int)r.Output[1].BaseObject);
        Assert.Equal(3, (int)r.Output[2].BaseObject);
        var xl = Assert.IsType<XenMigration.Xl.XlHeaderRecord>(r.Output[3].BaseObject);
        Assert.Equal(file, xl.FilePath);
        var page = Assert.IsType<PageDataRecord>(r.Output[4].BaseObject);
        Assert.Equal(XenLayer.Libxc, page.Layer);
        Assert.Equal(16u, page.PfnCount);
        Assert.Equal(8, page.Index);
    }

    [Fact]
    public void TypeParameterFiltersInsideTheCmdlet()
    {
        using var dir = new TempDir();
        string file = dir.File("hvm.xlsave", ImageBuilder.Build(new ImageSpec()));
        var r = PsHost.Run("Get-XenStreamRecord -Path $f -Type HvmParams,TscInfo", ("f", file));
        r.AssertNoErrors();
        Assert.Equal(new[] { XenRecordType.TscInfo, XenRecordType.HvmParams }, r.Objects<XenStreamRecord>().Select(x => x.Type));
        Assert.Equal("STORE_PFN", r.Objects<HvmParamsRecord>().Single().Params[0].Name);

        var bad = PsHost.Run("Get-XenStreamRecord -Path $f -Type NoSuchType", ("f", file));
        Assert.Contains(bad.Errors, e => e.FullyQualifiedErrorId.StartsWith("ParameterArgumentTransformationError", StringComparison.Ordinal)
            || e.FullyQualifiedErrorId.StartsWith("CannotConvertArgumentNoMessage", StringComparison.Ordinal));
    }

    [Fact]
    public void WildcardsExpandAndAWildcardMatchingNothingIsNotAnError()
    {
        using var dir = new TempDir();
        dir.File("a.xlsave", ImageBuilder.Build(new ImageSpec { Pages = 2 }));
        dir.File("b.xlsave", ImageBuilder.Build(new ImageSpec { Pages = 2, GuestType = XenGuestType.Pv, Wrapping = Wrapping.Libxl }));
        Directory.CreateDirectory(dir.Combine("c.xlsave"));
        var r = PsHost.Run("""
            Get-XenStreamRecord "$d/*.xlsave" -Type DomainHeader
            Get-XenStreamRecord "$d/*.nothing"
            """, ("d", dir.Path));
        r.AssertNoErrors();
        var headers = r.Objects<DomainHeaderRecord>().ToList();
        Assert.Equal(new[] { XenGuestType.Hvm, XenGuestType.Pv }, headers.Select(h => h.GuestType));
        Assert.EndsWith("a.xlsave", headers[0].FilePath);
        Assert.EndsWith("b.xlsave", headers[1].FilePath);
    }

    [Fact]
    public void LiteralPathHandlesBracketsThatPathTreatsAsWildcards()
    {
        using var dir = new TempDir();
        string file = dir.File("vm [1].save", ImageBuilder.Build(new ImageSpec { Pages = 2 }));
        var r = PsHost.Run("""
            (Get-XenStreamRecord -LiteralPath $f -Type End).Count
            (Get-XenStreamRecord -LP $f -Type End).Count
            (Get-XenStreamRecord -Path $f).Count
            """, ("f", file));
        r.AssertNoErrors();
        Assert.Equal(new object[] { 2, 2, 0 }, r.Output.Select(o => o.BaseObject));
    }

    [Fact]
    public void ChildItemsPipeInByPSPathIncludingBracketedNames()
    {
        using var dir = new TempDir();
        dir.File("vm [1].save", ImageBuilder.Build(new ImageSpec { Pages = 2 }));
        dir.File("vm2.save", ImageBuilder.Build(new ImageSpec { Pages = 2, Wrapping = Wrapping.None }));
        // What Get-ChildItem emits: provider items carrying PSPath.
        var r = PsHost.Run("""
            $items = $ExecutionContext.InvokeProvider.ChildItem.Get($d, $false)
            $items | Get-XenStreamRecord -Type ImageHeader
            """, ("d", dir.Path));
        r.AssertNoErrors();
        var paths = r.Objects<ImageHeaderRecord>().Select(h => Path.GetFileName(h.FilePath!)).OrderBy(x => x).ToList();
        Assert.Equal(new[] { "vm [1].save", "vm2.save" }, paths);
    }

    [Fact]
    public void ObjectsWithAPathPropertyBindByPropertyName()
    {
        using var dir = new TempDir();
        string file = dir.File("a.save", ImageBuilder.Build(new ImageSpec { Pages = 2 }));
        var r = PsHost.Run("[pscustomobject]@{ Path = $f } | Get-XenStreamRecord -Type LibxlHeader", ("f", file));
        r.AssertNoErrors();
        Assert.Single(r.Objects<XenMigration.Libxl.LibxlHeaderRecord>());
    }

    [Fact]
    public void MissingFilesNonFileSystemPathsAndDirectoriesAreNonTerminatingErrorsWithStableIds()
    {
        using var dir = new TempDir();
        string good = dir.File("good.save", ImageBuilder.Build(new ImageSpec { Pages = 2 }));
        string missing = dir.Combine("missing.save");
        var r = PsHost.Run("""
            Get-XenStreamRecord $missing, $good -Type End
            Get-XenStreamRecord -LiteralPath $missing
            Get-XenStreamRecord Env:\PATH
            Get-XenStreamRecord -LiteralPath $d
            Get-XenStreamRecord nosuchdrive:/x.save, $good -Type End
            """, ("missing", missing), ("good", good), ("d", dir.Path));
        Assert.Equal(4, r.Objects<XenStreamRecord>().Count());
        Assert.Equal(5, r.Errors.Count);
        Assert.Equal("FileNotFound," + Cmd, r.Errors[4].FullyQualifiedErrorId);
        Assert.Equal("FileNotFound," + Cmd, r.Errors[0].FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, r.Errors[0].CategoryInfo.Category);
        Assert.Equal("FileNotFound," + Cmd, r.Errors[1].FullyQualifiedErrorId);
        Assert.Equal(missing, r.Errors[1].TargetObject);
        Assert.Equal("OnlySupportsFileSystemPaths," + Cmd, r.Errors[2].FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Errors[2].CategoryInfo.Category);
        Assert.Equal("PathIsDirectory," + Cmd, r.Errors[3].FullyQualifiedErrorId);
    }

    [Fact]
    public void CorruptFilesEmitEveryGoodRecordThenOneErrorCarryingTheOffset()
    {
        using var dir = new TempDir();
        byte[] full = ImageBuilder.Build(new ImageSpec { Pages = 40, BatchSize = 16 });
        var records = ReadAllRecords(full);
        var third = records.OfType<PageDataRecord>().ElementAt(2);
        // Cut inside the third PAGE_DATA record's pages.
        string truncated = dir.File("cut.save", full.AsSpan(0, (int)third.PageDataOffset + 100).ToArray());
        byte[] garbage = (byte[])full.Clone();
        BitConverter.GetBytes(0x7FFFFFFFu).CopyTo(garbage, third.Offset + 4);
        string oversized = dir.File("big.save", garbage);
        string text = dir.File("notes.txt", "hello, not a VM"u8.ToArray());
        string qemu = Fixtures.QemuDevicesState;

        var r = PsHost.Run("Get-XenStreamRecord $a, $b, $c, $q", ("a", truncated), ("b", oversized), ("c", text), ("q", qemu));
        var got = r.Objects<XenStreamRecord>().ToList();
        Assert.Equal(2 * (int)third.Index, got.Count);
        Assert.Equal(4, r.Errors.Count);

        Assert.Equal("UnexpectedEndOfStream," + Cmd, r.Errors[0].FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ReadError, r.Errors[0].CategoryInfo.Category);
        Assert.Equal(truncated, r.Errors[0].TargetObject);
        Assert.Contains("offset " + (third.PageDataOffset + 100), r.Errors[0].Exception.Message);
        Assert.StartsWith(truncated + ": ", r.Errors[0].ErrorDetails.Message);

        Assert.Equal("RecordTooLarge," + Cmd, r.Errors[1].FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, r.Errors[1].CategoryInfo.Category);
        Assert.Contains("record #" + third.Index + " (PageData)", r.Errors[1].Exception.Message);

        Assert.Equal("UnrecognizedFormat," + Cmd, r.Errors[2].FullyQualifiedErrorId);
        Assert.Equal("UnsupportedFormat," + Cmd, r.Errors[3].FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidType, r.Errors[3].CategoryInfo.Category);
    }

    [SkippableFact]
    public void ReadErrorsBecomeFileReadError()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "/proc/self/mem is Linux's");

        // /proc/self/mem opens fine and fails on the first read at address 0 (EIO).
        var r = PsHost.Run("Get-XenStreamRecord -LiteralPath /proc/self/mem");
        var e = Assert.Single(r.Errors);
        Assert.Equal("FileReadError," + Cmd, e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ReadError, e.CategoryInfo.Category);
    }

    [Fact]
    public void StoppingTheDownstreamPipelineReturnsAtOnceAndClosesTheFile()
    {
        using var dir = new TempDir();
        string file = dir.Combine("huge.save");
        // A 10 GB file: a real image at the start, then a hole (sparse, takes no disk).
        using (var fs = new FileStream(file, FileMode.CreateNew))
        {
            fs.Write(ImageBuilder.Build(new ImageSpec { Pages = 2 }));
            fs.SetLength(10L << 30);
        }

        var r = PsHost.Run("""
            Get-XenStreamRecord $f | Select-TestFirst 1
            $s = [System.IO.File]::Open($f, 'Open', 'ReadWrite', 'None'); $s.Dispose(); 'closed'
            """, ("f", file));
        r.AssertNoErrors();
        Assert.IsType<XenMigration.Xl.XlHeaderRecord>(r.Output[0].BaseObject);
        Assert.Equal("closed", r.Output[1].BaseObject);
    }

    [Fact]
    public void ProgressIsThrottledReportsBytesAndCompletes()
    {
        using var dir = new TempDir();
        byte[] data = ImageBuilder.Build(new ImageSpec { Pages = 64, BatchSize = 8 });
        string file = dir.File("p.save", data);
        Type reporter = PsHost.ModuleAssembly().GetType("XenMigration.Commands.ProgressReporter", throwOnError: true)!;
        FieldInfo first = reporter.GetField("s_firstDelay", BindingFlags.NonPublic | BindingFlags.Static)!;
        FieldInfo interval = reporter.GetField("s_interval", BindingFlags.NonPublic | BindingFlags.Static)!;
        object? savedFirst = first.GetValue(null), savedInterval = interval.GetValue(null);

        // With the default throttle a small file shows no progress at all.
        var quiet = PsHost.Run("$ProgressPreference = 'Continue'; $null = Get-XenStreamRecord $f", ("f", file));
        Assert.Empty(quiet.Progress);
        try
        {
            first.SetValue(null, 0L);
            interval.SetValue(null, 0L);
            var r = PsHost.Run("$ProgressPreference = 'Continue'; $null = Get-XenStreamRecord $f", ("f", file));
            r.AssertNoErrors();
            var updates = r.Progress.Where(p => p.RecordType == ProgressRecordType.Processing).ToList();
            Assert.True(updates.Count > 5);
            Assert.Equal(updates.Select(p => p.PercentComplete).OrderBy(p => p), updates.Select(p => p.PercentComplete));
            Assert.Equal(100, updates[^1].PercentComplete);
            Assert.All(r.Progress, p => Assert.Equal(updates[0].ActivityId, p.ActivityId));
            Assert.Equal(ProgressRecordType.Completed, r.Progress[^1].RecordType);
        }
        finally
        {
            first.SetValue(null, savedFirst);
            interval.SetValue(null, savedInterval);
        }
    }

    [Fact]
    public void DefaultTableViewShowsHexOffsetsTypesAndSummariesGroupedByFile()
    {
        using var dir = new TempDir();
        string file = dir.File("view.save", ImageBuilder.Build(new ImageSpec { Pages = 4, BatchSize = 4 }));
        var r = PsHost.Run("Get-XenStreamRecord $f | Out-Host", ("f", file));
        r.AssertNoErrors();
        // Header colours are ANSI sequences; compare the plain text.
        string text = System.Text.RegularExpressions.Regex.Replace(r.HostText, "\u001b\\[[0-9;]*m", string.Empty);
        Assert.Contains("Path: " + file, text);
        Assert.Matches(@"Offset\s+Index\s+Layer\s+Type\s+Length\s+Summary", text);
        Assert.Contains("0x00000000", text);
        Assert.Matches(@"0x[0-9A-F]{8}\s+\d+\s+Libxc\s+PageData\s+\d+\s+4 pfns 0x0\.\.0x3, 4 with data", text);
        Assert.Contains("HVM, Xen 4.19", text);
        Assert.Contains("STORE_PFN=0xfeffc", text);
    }

    [Fact]
    public void RecordsSurviveCliXmlSerialization()
    {
        using var dir = new TempDir();
        string file = dir.File("s.save", ImageBuilder.Build(new ImageSpec { Pages = 4, BatchSize = 4 }));
        var r = PsHost.Run("""
            $recs = Get-XenStreamRecord $f -Type PageData, HvmParams
            $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($recs, 2))
            $copy | ForEach-Object { '{0}|{1}|{2}|{3}|{4}' -f $_.Type, $_.Offset, $_.Length, $_.FilePath, ($_.PSObject.TypeNames -join ',') }
            """, ("f", file));
        r.AssertNoErrors();
        var lines = r.Output.Select(o => o.ToString()).ToList();
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("PageData|", lines[0]);
        Assert.Contains("|" + file + "|", lines[0]);
        Assert.Contains("Deserialized.XenMigration.Libxc.PageDataRecord", lines[0]);
        Assert.Contains("Deserialized.XenMigration.Records.XenStreamRecord", lines[0]);
    }

    private static List<XenStreamRecord> ReadAllRecords(byte[] data) => Core.ReaderHelpers.ReadAll(data);

    [Fact]
    public void AFormatAnotherCmdletReadsNamesThatCmdlet()
    {
        string legacy = LegacyFixtures.PathOf("pv-xl.legacy");
        string save = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        var r = PsHost.Run("Get-XenStreamRecord -LiteralPath $l; Import-XenstoreDump -LiteralPath $s", ("l", legacy), ("s", save));
        Assert.Equal(2, r.Errors.Count);
        Assert.Equal("UnsupportedFormat," + Cmd, r.Errors[0].FullyQualifiedErrorId);
        Assert.Equal("Convert it with ConvertTo-XenStreamV2.", r.Errors[0].ErrorDetails.RecommendedAction);
        Assert.EndsWith("Convert it with ConvertTo-XenStreamV2.", r.Errors[0].ErrorDetails.Message, StringComparison.Ordinal);
        Assert.Equal("Read it with Get-XenStreamRecord.", r.Errors[1].ErrorDetails.RecommendedAction);
        Assert.DoesNotContain("ConvertTo-", r.Errors[0].Exception.Message, StringComparison.Ordinal);   // Core names no cmdlet
    }
}
