using XenMigration.HvmContext;
using XenMigration.Inspection;
using XenMigration.Libxc;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.Tests.Inspection;

/// <summary>Get-XenSaveInfo, Compare-XenStream and Measure-XenStream (issue 21).</summary>
public class InspectionTests
{
    [Fact]
    public void ThePublishedHpetPairDiffersInTheHpetEntryOnly()
    {
        using var dir = new TempDir();
        string frozen = dir.File("frozen.save", HpetImages.Frozen(withPage: false));
        string unfrozen = dir.File("unfrozen.save", HpetImages.Resumed(withPage: false));
        var diffs = ImageComparer.Compare(frozen, unfrozen, XenImagePart.AllButMemory);
        Assert.All(diffs, d => Assert.Equal(XenImagePart.HvmContext, d.Part));
        Assert.All(diffs, d => Assert.StartsWith("Hpet[0].", d.Path, StringComparison.Ordinal));
        var paths = diffs.Select(d => d.Path).ToHashSet();
        Assert.Contains("Hpet[0].MainCounter", paths);
        Assert.Contains("Hpet[0].Timers[0].Comparator", paths);
        Assert.Contains("Hpet[0].Timers[0].Config", paths);
        Assert.Contains("Hpet[0].Timers[0].Periodic", paths);
        var periodic = diffs.Single(d => d.Path == "Hpet[0].Timers[0].Periodic");
        Assert.Equal(("False", "True", "<>"), (periodic.ReferenceValue, periodic.DifferenceValue, periodic.SideIndicator));
        Assert.Equal(("0xf0000000002934", "0xf000000000293c"), (diffs.Single(d => d.Path == "Hpet[0].Timers[0].Config").ReferenceValue, diffs.Single(d => d.Path == "Hpet[0].Timers[0].Config").DifferenceValue));
        // Nothing about timers 1 and 2, the CPU, the headers or the config.
        Assert.DoesNotContain(paths, p => p.StartsWith("Hpet[0].Timers[1]", StringComparison.Ordinal) || p.StartsWith("Hpet[0].Timers[2]", StringComparison.Ordinal));

        Assert.Empty(ImageComparer.Compare(frozen, frozen, XenImagePart.AllButMemory | XenImagePart.Memory));
    }

    [Fact]
    public void SamplesDifferWhereTheyDifferAndMemoryIsComparedByPage()
    {
        string hvm = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        string pv = Path.Combine(Fixtures.Samples, "pv-domain.xlsave");
        var diffs = ImageComparer.Compare(hvm, pv, XenImagePart.AllButMemory);
        Assert.Contains(diffs, d => d.Part == XenImagePart.Config && d.Path == "config.c_info.name" && d.ReferenceValue == "web01" && d.DifferenceValue == "dns02");
        Assert.Contains(diffs, d => d.Part == XenImagePart.Header && d.Path == "GuestType");
        Assert.Contains(diffs, d => d.Part == XenImagePart.HvmParams && d.SideIndicator == "<=");
        Assert.Contains(diffs, d => d.Part == XenImagePart.PvVcpu && d.SideIndicator == "=>");

        using var dir = new TempDir();
        byte[] a = ImageBuilder.Build(new ImageSpec { Pages = 64, BatchSize = 16, XtabEvery = 0 });
        byte[] b = ImageBuilder.Build(new ImageSpec { Pages = 64, BatchSize = 16, XtabEvery = 0, Checkpoints = 0 });
        string left = dir.File("a.save", a), right = dir.File("b.save", b);
        Assert.Empty(ImageComparer.Compare(left, right, XenImagePart.Memory));
        string fewer = dir.File("c.save", ImageBuilder.Build(new ImageSpec { Pages = 60, BatchSize = 16, XtabEvery = 0 }));
        var memory = ImageComparer.Compare(left, fewer, XenImagePart.Memory);
        var run = Assert.Single(memory);
        Assert.Equal(("pfn 0x3c-0x3f", "<="), (run.Path, run.SideIndicator));
    }

    [Fact]
    public void SaveInfoSaysWhatEachKindOfImageIs()
    {
        XenSaveInfo hvm = SaveInfoReader.Read(Path.Combine(Fixtures.Samples, "hvm-domain.xlsave"));
        Assert.Equal(("web01", "4f2a8c1e-3b7d-4e9a-a6c2-9d1e5f7b3c28", "Hvm", 1024L, 2, 2), (hvm.Name, hvm.Uuid, hvm.GuestType, hvm.MemoryMiB, hvm.Vcpus, hvm.VcpusWithState));
        Assert.Equal(SampleConfig.HvmJson, hvm.ConfigText);
        Assert.Equal("Json", hvm.ConfigFormat);
        Assert.Equal(new Version(4, 19), hvm.XenVersion);
        Assert.Equal("QemuUpstream", hvm.DeviceModel);
        Assert.True(hvm.PagesPresent > 0);
        Assert.StartsWith("xl@0x0 libxl@0x", hvm.Layers, StringComparison.Ordinal);
        Assert.Equal("xvda=/dev/vg0/web01", Assert.Single(hvm.Disks));

        XenSaveInfo pv = SaveInfoReader.Read(Path.Combine(Fixtures.Samples, "pv-domain.xlsave"));
        Assert.Equal(("dns02", "Pv", (byte?)8), (pv.Name, pv.GuestType, pv.GuestWidth));

        XenSaveInfo remus = SaveInfoReader.Read(Path.Combine(Fixtures.Samples, "remus-checkpointed.libxl"));
        Assert.Equal(2, remus.Checkpoints);

        XenSaveInfo libvirt = SaveInfoReader.Read(QemuFixtures.PathOf("libvirt-pc-7.2-gzip.save"));
        Assert.Equal(("xm-fixture", "Xml", 2), (libvirt.Name, libvirt.ConfigFormat, libvirt.VcpusWithState));
        Assert.Equal("pc-i440fx-7.2", libvirt.MachineType);

        XenSaveInfo legacy = SaveInfoReader.Read(Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "legacy", "pv64-w64.legacy"));
        Assert.True(legacy.IsLegacy);
        Assert.Equal("Pv", legacy.GuestType);

        var r = PsHost.Run("Get-XenSaveInfo -LiteralPath $p", ("p", Path.Combine(Fixtures.Samples, "hvm-domain.xlsave")));
        r.AssertNoErrors();
        var info = Assert.Single(r.Objects<XenSaveInfo>());
        var config = Assert.IsType<System.Management.Automation.PSObject>(info.Config);
        Assert.Equal("web01", ((System.Management.Automation.PSObject)config.Properties["c_info"].Value).Properties["name"].Value);
    }

    [Fact]
    public void ALiveMigrationStreamIsMeasuredPassByPass()
    {
        // Pass 1: frames 0-99; pass 2: 10-19 again; pass 3: 12 and 13 again, then the checkpointless END.
        using var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteImageHeader(3);
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
            void Batch(IEnumerable<ulong> pfns)
            {
                ulong[] list = pfns.ToArray();
                w.WritePageData(list, new byte[list.Count(p => p >> 60 == 0) * 4096]);
            }

            for (ulong s = 0; s < 100; s += 25)
            {
                Batch(Enumerable.Range((int)s, 25).Select(i => (ulong)i));
            }

            Batch(Enumerable.Range(10, 10).Select(i => (ulong)i));
            Batch(new ulong[] { 12, 13, 200 | (0xFUL << 60) });
            w.WriteHvmContext(ImageBuilder.HvmContextBlob(1));
            w.WriteEmptyRecord(LibxcFormat.End);
        }

        using var dir = new TempDir();
        string path = dir.File("live.libxc", ms.ToArray());
        var (passes, summary) = StreamMeasure.Measure(path);
        Assert.Equal(new long[] { 100, 10, 2 }, passes.Select(p => p.PagesSent));
        Assert.Equal(new long[] { 0, 10, 2 }, passes.Select(p => p.Resends));
        Assert.Equal(1, passes[2].XtabPages);
        Assert.Equal(25, passes[0].Bar.Length);
        Assert.Equal((3, 112L, 100L, 12L, 2L), (summary.Passes, summary.PagesSent, summary.DistinctPages, summary.Resends, summary.LastPassPages));
        Assert.Contains(summary.BytesByType, t => t.Type == "PageData" && t.Records == 6);

        var r = PsHost.Run("Measure-XenStream -LiteralPath $p -Summary", ("p", path));
        r.AssertNoErrors();
        Assert.Equal(0.12, Assert.Single(r.Objects<XenStreamMeasurement>()).ResendRatio);
    }
}
