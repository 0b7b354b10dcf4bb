using XenMigration.FileIO;
using XenMigration.HvmContext;
using XenMigration.Inspection;
using XenMigration.Libxc;
using XenMigration.Records;
using XenMigration.Rewrite;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.Tests.Rewrite;

/// <summary>Export-XenStream and the Set-* cmdlets (issue 24): byte-identical round trips, edits that change only what they change.</summary>
public class RewriteTests
{
    private static List<XenStreamRecord> Records(string path)
    {
        using var reader = new XenStreamReader(File.OpenRead(path), leaveOpen: false, new XenStreamReaderOptions { SourcePath = path });
        var list = new List<XenStreamRecord>();
        while (reader.ReadNext() is XenStreamRecord r)
        {
            list.Add(r);
        }

        return list;
    }

    public static TheoryData<string> Images()
    {
        var data = new TheoryData<string>();
        foreach (string s in new[] { "hvm-domain.xlsave", "pv-domain.xlsave", "remus-checkpointed.libxl" })
        {
            data.Add("sample:" + s);
        }

        foreach (string g in new[] { "libxc", "libxl", "xl-pv", "libxc-v2", "checkpointed", "xenserver", "libvirt-libxl" })
        {
            data.Add("built:" + g);
        }

        return data;
    }

    private static byte[] Built(string name) => name switch
    {
        "libxc" => ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Config = null, EmulatorState = null, XenstoreData = false }),
        "libxl" => ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl }),
        "xl-pv" => ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, Config = SampleConfig.PvJson, EmulatorState = null, XenstoreData = false }),
        "libxc-v2" => ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Version = 2, Config = null, EmulatorState = null, XenstoreData = false }),
        "checkpointed" => ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, Checkpoints = 2 }),
        "xenserver" => ContainerImages.XenServerHvm(),
        _ => ContainerImages.LibvirtLibxl(ContainerImages.LibvirtXml),
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void EveryImageRoundTripsByteForByte(string image)
    {
        using var dir = new TempDir();
        string source = image.StartsWith("sample:", StringComparison.Ordinal) ? Path.Combine(Fixtures.Samples, image[7..]) : dir.File("in.save", Built(image[6..]));
        string output = dir.Combine("out.save");
        RewriteResult r = StreamRewriter.Write(Records(source), output, new RewriteOptions(), new CommitOptions());
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(output));
        Assert.Equal(0, r.Edited);
    }

    [Fact]
    public void EveryLegacyFixtureConvertedRoundTrips()
    {
        using var dir = new TempDir();
        foreach (string legacy in Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "legacy"), "*.legacy"))
        {
            string v2 = dir.Combine(Path.GetFileNameWithoutExtension(legacy) + ".save");
            PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $i -Destination $o", ("i", legacy), ("o", v2)).AssertNoErrors();
            string again = dir.Combine(Path.GetFileNameWithoutExtension(legacy) + ".again");
            StreamRewriter.Write(Records(v2), again, new RewriteOptions(), new CommitOptions());
            Assert.Equal(File.ReadAllBytes(v2), File.ReadAllBytes(again));
        }
    }

    [Fact]
    public void TheHpetRepairOfTheXenDevelThreadIsThreeLines()
    {
        using var dir = new TempDir();
        string frozen = dir.File("frozen.save", HpetImages.Frozen(withPage: true));
        string resumed = dir.File("ok.save", HpetImages.Resumed(withPage: true));
        string fixedPath = dir.Combine("fixed.save");
        var r = PsHost.Run("""
            $ctx = Get-XenHvmContext -LiteralPath $frozen
            $hpet = $ctx | Where-Object TypeCode -eq Hpet
            $hpet.Timers[0].Periodic = $true
            Get-XenStreamRecord -LiteralPath $frozen | Set-XenHvmContext -Entry $ctx | Export-XenStream -Destination $fixed
            """, ("frozen", frozen), ("fixed", fixedPath));
        r.AssertNoErrors();

        // Exactly one byte differs: timer 0's config word, bit 3.
        byte[] a = File.ReadAllBytes(frozen), b = File.ReadAllBytes(fixedPath);
        Assert.Equal(a.Length, b.Length);
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.Equal(0x08, a[Assert.Single(diff)] ^ b[diff[0]]);

        // With the counter and comparator of the resumed image too, the HVM contexts are the same.
        var all = PsHost.Run("""
            $ctx = Get-XenHvmContext -LiteralPath $frozen
            $hpet = $ctx | Where-Object TypeCode -eq Hpet
            $hpet.Timers[0].Periodic = $true
            $hpet.Timers[0].Comparator = 0xacbd3761b
            $hpet.MainCounter = 0xacbd23c57
            Get-XenStreamRecord -LiteralPath $frozen | Set-XenHvmContext -Entry $ctx | Export-XenStream -Destination $fixed -Force
            Compare-XenStream -ReferencePath $fixed -DifferencePath $ok -Part HvmContext
            """, ("frozen", frozen), ("fixed", fixedPath), ("ok", resumed));
        all.AssertNoErrors();
        Assert.Empty(all.Objects<XenStreamDifference>());
    }

    [Fact]
    public void ACpuRegisterEditChangesOnlyItsBytes()
    {
        using var dir = new TempDir();
        string source = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        string output = dir.Combine("rip.save");
        var r = PsHost.Run("""
            $ctx = Get-XenHvmContext -LiteralPath $src
            ($ctx | Where-Object { $_.TypeCode -eq 'Cpu' -and $_.Instance -eq 1 }).Rip = 0xffffffff81000000ul
            Get-XenStreamRecord -LiteralPath $src | Set-XenHvmContext $ctx | Export-XenStream $out
            (Get-XenHvmContext -LiteralPath $out -TypeCode Cpu | Where-Object Instance -eq 1).Rip
            """, ("src", source), ("out", output));
        r.AssertNoErrors();
        Assert.Equal(0xffffffff81000000UL, (ulong)r.Output.Last().BaseObject);
        byte[] a = File.ReadAllBytes(source), b = File.ReadAllBytes(output);
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.InRange(diff.Count, 1, 8);
        Assert.True(diff[^1] - diff[0] < 8, "the changed bytes are one 8-byte register");
    }

    // Each writable kind, the object in the entry (empty: the entry itself) and the property edited;
    // the sample has all but the Viridian, VMCE and CPU_MSR entries, which the built image below adds.
    public static TheoryData<string, string, string, string> WritableEntries() => new()
    {
        { "sample", "Cpu", "", "Cr3" },
        { "sample", "Hpet", "", "MainCounter" },
        { "sample", "Hpet", "Timers[1]", "Comparator" },
        { "sample", "Lapic", "", "TdtMsr" },
        { "sample", "Lapic", "", "TimerDivisor" },
        { "sample", "LapicRegs", "Registers[3]", "Value" },
        { "sample", "Rtc", "", "RtcOffset" },
        { "sample", "Rtc", "", "CmosIndex" },
        { "sample", "PmTimer", "", "TmrVal" },
        { "sample", "PmTimer", "", "Pm1aEn" },
        { "sample", "TscAdjust", "", "TscAdjust" },
        { "sample", "Pic", "", "Imr" },
        { "sample", "IoApic", "", "Id" },
        { "sample", "IoApic", "Pins[5]", "Raw" },
        { "sample", "Pit", "Channels[0]", "Count" },
        { "sample", "Pit", "Channels[2]", "Mode" },
        { "sample", "Mtrr", "", "DefType" },
        { "sample", "Mtrr", "Variable[1]", "Mask" },
        { "built", "ViridianDomain", "", "GuestOsId" },
        { "built", "ViridianVcpu", "", "SimpMsr" },
        { "built", "VmceVcpu", "", "MciCtl2Bank1" },
        { "built", "CpuMsr", "Msrs[1]", "Value" },
    };

    // CPU_MSR: count, pad, then index, reserved (0), value per MSR (SPEC_CTRL and MISC_FEATURES_ENABLES are ones Xen restores).
    private static byte[] CpuMsrs(params (uint Index, ulong Value)[] msrs)
    {
        var b = new byte[8 + (16 * msrs.Length)];
        BitConverter.GetBytes((uint)msrs.Length).CopyTo(b, 0);
        for (int i = 0; i < msrs.Length; i++)
        {
            BitConverter.GetBytes(msrs[i].Index).CopyTo(b, 8 + (16 * i));
            BitConverter.GetBytes(msrs[i].Value).CopyTo(b, 16 + (16 * i));
        }

        return b;
    }

    private static byte[] ViridianVmceImage()
    {
        byte[] Filled(int n, byte seed) => Enumerable.Range(0, n).Select(i => (byte)(seed + (i * 7))).ToArray();
        byte[] blob = new HvmContextBuilder()
            .AddHeader(0x000906EA, 0)
            .Add(HvmTypeCode.ViridianDomain, 0, Filled(32, 3))
            .Add(HvmTypeCode.VmceVcpu, 0, Filled(32, 5))
            .Add(HvmTypeCode.ViridianVcpu, 0, Filled(216, 9))
            .Add(HvmTypeCode.CpuMsr, 0, CpuMsrs((0x48, 1), (0x140, 7)))
            .AddEnd()
            .ToArray();
        using var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteImageHeader(3);
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 12);
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
            w.WritePageData(new ulong[] { 0 }, new byte[4096]);
            w.WriteHvmContext(blob);
            w.WriteEmptyRecord(LibxcFormat.End);
        }

        return ms.ToArray();
    }

    [Theory]
    [MemberData(nameof(WritableEntries))]
    public void EachWritableEntryKindChangesOnlyItsField(string image, string typeCode, string inner, string property)
    {
        using var dir = new TempDir();
        string source = image == "sample" ? Path.Combine(Fixtures.Samples, "hvm-domain.xlsave") : dir.File("vv.libxc", ViridianVmceImage());
        string output = dir.Combine("edited.save");
        var r = PsHost.Run("""
            $ctx = Get-XenHvmContext -LiteralPath $src
            $e = @($ctx | Where-Object TypeCode -eq $tc)[-1]
            function Inner($x) { if ($inner -match '^(\w+)\[(\d+)\]$') { $x.($Matches[1])[[int]$Matches[2]] } else { $x } }
            $o = Inner $e
            $old = $o.$prop
            $o.$prop = $old -bxor 0x5a
            Get-XenStreamRecord -LiteralPath $src | Set-XenHvmContext $ctx | Export-XenStream $out
            $back = @(Get-XenHvmContext -LiteralPath $out -TypeCode $tc)[-1]
            $b = Inner $back
            [pscustomobject]@{ Old = [uint64]$old; New = [uint64]$b.$prop; Offset = $e.Offset; Length = $e.Length }
            """, ("src", source), ("out", output), ("tc", typeCode), ("prop", property), ("inner", inner));
        r.AssertNoErrors();
        dynamic result = r.Output.Last();
        Assert.Equal((ulong)result.Old ^ 0x5a, (ulong)result.New);

        // Only bytes of that entry's payload differ, and no more than the field's width.
        byte[] a = File.ReadAllBytes(source), b = File.ReadAllBytes(output);
        Assert.Equal(a.Length, b.Length);
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.NotEmpty(diff);
        long start = (long)result.Offset + 8, end = start + (long)(uint)result.Length;
        Assert.All(diff, i => Assert.InRange(i, start, end - 1));
        Assert.True(diff[^1] - diff[0] < 8, "one field changed");
    }

    [Fact]
    public void HvmParamsAndTscInfoEditsChangeOnlyTheirValues()
    {
        using var dir = new TempDir();
        string source = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        byte[] a = File.ReadAllBytes(source);

        // A param the record has: its eight value bytes change, nothing else.
        string timer = dir.Combine("timer.save");
        PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenHvmParam CONSOLE_PFN 0xfeff0 | Export-XenStream $out", ("src", source), ("out", timer)).AssertNoErrors();
        byte[] b = File.ReadAllBytes(timer);
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.Equal(a.Length, b.Length);
        Assert.True(diff.Count is > 0 and <= 8 && diff[^1] - diff[0] < 8);
        var p = Records(timer).OfType<HvmParamsRecord>().Single().Params.Single(x => x.Name == "CONSOLE_PFN");
        Assert.Equal(0xfeff0UL, p.Value);

        // Added and removed params change the count and the record length.
        string added = dir.Combine("added.save");
        PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenHvmParam HVM_PARAM_MCA_CAP 1 | Export-XenStream $out", ("src", source), ("out", added)).AssertNoErrors();
        var before = Records(source).OfType<HvmParamsRecord>().Single();
        var after = Records(added).OfType<HvmParamsRecord>().Single();
        Assert.Equal(before.ParamCount + 1, after.ParamCount);
        Assert.Equal(1UL, after.Params.Single(x => x.Name == "MCA_CAP").Value);
        Assert.Equal(a.Length + 16, new FileInfo(added).Length);
        string removed = dir.Combine("removed.save");
        PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenHvmParam MCA_CAP -Remove | Export-XenStream $out", ("src", added), ("out", removed)).AssertNoErrors();
        Assert.Equal(a, File.ReadAllBytes(removed));

        // A value Xen refuses (a Viridian setting without the base bit) is refused before writing.
        var bad = PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenHvmParam VIRIDIAN 0x2 | Export-XenStream $out", ("src", source), ("out", dir.Combine("bad.save")));
        Assert.StartsWith("RewriteFailedVerification,", Assert.Single(bad.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("bad.save")));
        var unknown = PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenHvmParam NO_SUCH_PARAM 1", ("src", source));
        Assert.NotEmpty(unknown.Errors);

        // TSC: the frequency's four bytes change.
        string tsc = dir.Combine("tsc.save");
        PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenTscInfo -Khz 2100000 | Export-XenStream $out", ("src", source), ("out", tsc)).AssertNoErrors();
        b = File.ReadAllBytes(tsc);
        diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.True(diff.Count is > 0 and <= 4 && diff[^1] - diff[0] < 4);
        Assert.Equal(2100000U, Records(tsc).OfType<TscInfoRecord>().Single().Khz);
    }

    [Theory]
    [InlineData("period", "1024", 4, "0x00000400")]
    [InlineData("cmos_index", "0x0d", 1, "0x0d")]
    [InlineData("next_periodic_time", "-2", 8, "0xfffffffffffffffe (-2)")]
    public void AQemuDeviceFieldInsideEmulatorContextChangesOnlyItsBytes(string field, string value, int width, string text)
    {
        using var dir = new TempDir();
        string source = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        string output = dir.Combine("rtc.save");
        var r = PsHost.Run("""
            $v = if ($value -like '0x*') { $value } else { [long]$value }
            Get-XenStreamRecord -LiteralPath $src | Set-QemuDeviceState mc146818rtc $field $v | Export-XenStream $out
            ((Get-XenStreamRecord -LiteralPath $out -Type EmulatorContext | Get-QemuDeviceState -Name mc146818rtc).Fields | Where-Object Name -eq $field).Text
            """, ("src", source), ("out", output), ("field", field), ("value", value));
        r.AssertNoErrors();
        Assert.Equal(text, r.Output.Last().ToString());
        byte[] a = File.ReadAllBytes(source), b = File.ReadAllBytes(output);
        Assert.Equal(a.Length, b.Length);
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.NotEmpty(diff);
        Assert.True(diff[^1] - diff[0] < width, "only the field's bytes differ");
    }

    [Fact]
    public void QemuFieldsThatCannotBeWrittenOrDoNotExistAreRefused()
    {
        string source = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        var buffer = PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-QemuDeviceState mc146818rtc cmos_data 1", ("src", source));
        Assert.StartsWith("FieldNotWritable,", Assert.Single(buffer.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        var missing = PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-QemuDeviceState mc146818rtc no_such_field 1", ("src", source));
        Assert.StartsWith("NoSuchField,", Assert.Single(missing.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        var tooBig = PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-QemuDeviceState mc146818rtc cmos_index 0x100", ("src", source));
        Assert.StartsWith("NoSuchField,", Assert.Single(tooBig.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("does not fit", tooBig.Errors[0].Exception.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ANewConfigGetsNewLengthsAndXensVerifierAcceptsTheResult()
    {
        using var dir = new TempDir();
        string source = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        string output = dir.Combine("cfg.save");
        string config = SampleConfig.HvmJson.Replace("web01", "web01-restored-on-a-new-host", StringComparison.Ordinal);
        PsHost.Run("Get-XenStreamRecord -LiteralPath $src | Set-XenSaveConfig -Config $c | Export-XenStream $out", ("src", source), ("c", config), ("out", output)).AssertNoErrors();
        var xl = Assert.IsType<XlHeaderRecord>(Records(output)[0]);
        Assert.Equal(config, xl.Config);
        Assert.Equal(new FileInfo(source).Length + System.Text.Encoding.UTF8.GetByteCount(config) - System.Text.Encoding.UTF8.GetByteCount(SampleConfig.HvmJson), new FileInfo(output).Length);
        Skip.If(XenTools.Missing is not null, XenTools.Missing);

        // Xen's verifier gives the rewritten image the verdict it gives the original (it refuses the
        // sample's EMULATOR_XENSTORE_DATA layout either way, docs/xen-oracle.md), and a libxc-only
        // image that it accepts stays accepted after a round trip.
        Assert.Equal(XenTools.Verify(source, "xl").ExitCode, XenTools.Verify(output, "xl").ExitCode);
        string libxc = dir.File("plain.libxc", ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Config = null, EmulatorState = null, XenstoreData = false }));
        string copy = dir.Combine("plain.copy");
        StreamRewriter.Write(Records(libxc), copy, new RewriteOptions(), new CommitOptions());
        var xen = XenTools.Verify(copy, "libxc");
        Assert.True(xen.ExitCode == 0, xen.Output);
    }

    [Fact]
    public void InvalidResultsAndMixedImagesAreRefusedBeforeAnythingIsWritten()
    {
        using var dir = new TempDir();
        string hvm = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        string pv = Path.Combine(Fixtures.Samples, "pv-domain.xlsave");
        string output = dir.Combine("out.save");
        var noEnd = PsHost.Run("Get-XenStreamRecord -LiteralPath $p | Where-Object Type -ne End | Export-XenStream $out", ("p", hvm), ("out", output));
        Assert.StartsWith("RewriteFailedVerification,", Assert.Single(noEnd.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        var mixed = PsHost.Run("@(Get-XenStreamRecord -LiteralPath $a) + @(Get-XenStreamRecord -LiteralPath $b) | Export-XenStream $out", ("a", hvm), ("b", pv), ("out", output));
        Assert.StartsWith("RecordsFromSeveralImages,", Assert.Single(mixed.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        var allowed = PsHost.Run("Get-XenStreamRecord -LiteralPath $p | Where-Object Type -ne End | Export-XenStream $out -AllowInvalid", ("p", hvm), ("out", output));
        allowed.AssertNoErrors();
        Assert.Contains(allowed.Warnings, w => w.Message.Contains("fails verification", StringComparison.Ordinal));
        Assert.True(File.Exists(output));

        var self = PsHost.Run("Get-XenStreamRecord -LiteralPath $p | Export-XenStream -Destination $p -Force", ("p", output));
        Assert.StartsWith("DestinationIsSource,", Assert.Single(self.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
    }
}
