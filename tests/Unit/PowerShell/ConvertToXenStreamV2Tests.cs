using System.Management.Automation;
using System.Security.Cryptography;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.TestSupport;

namespace XenMigration.Tests.PowerShell;

public class ConvertToXenStreamV2Tests
{
    private const string Cmd = "XenMigration.Commands.ConvertToXenStreamV2Command";

    private static readonly LegacySpec s_hvm = new() { XlHeader = true };

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static string[] Leftovers(string dir) => Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories);

    [Fact]
    public void ConvertsWritesWhatXensConverterWritesAndPassesThruToTestXenStream()
    {
        using var dir = new TempDir();
        string input = dir.File("old-vm.save", LegacyImages.Build(s_hvm));
        string before = Hash(input);
        string output = dir.Combine("vm [new].save");
        var r = PsHost.Run("""
            ConvertTo-XenStreamV2 -Path $in -Destination $out -GuestType Hvm -PassThru -Verbose | Test-XenStream
            """, ("in", input), ("out", output));
        r.AssertNoErrors();
        Assert.Equal(true, Assert.Single(r.Output).BaseObject);
        Assert.Equal(LegacyImages.Expected(s_hvm, LegacyOutputFormat.Libxl), File.ReadAllBytes(output));
        Assert.Equal(before, Hash(input));
        Assert.Contains(r.Verbose, v => v.Message.Contains("Toolstack width: 64-bit (detected", StringComparison.Ordinal));
        Assert.Contains(r.Verbose, v => v.Message.Contains("wrote " + output, StringComparison.Ordinal));
        Assert.Empty(Leftovers(dir.Path));
    }

    [Fact]
    public void PassThruWritesFileInfoAndOptionsReachTheConverter()
    {
        using var dir = new TempDir();
        var spec = new LegacySpec { GuestType = XenGuestType.Pv, Width = 32, GuestWidth = 4 };
        string input = dir.File("old.img", LegacyImages.Build(spec));
        var r = PsHost.Run("ConvertTo-XenStreamV2 old.img -Destination new.img -GuestType Pv -Width 32 -Format Libxc -PassThru".Replace("old.img", "$in").Replace("new.img", "$out"), ("in", input), ("out", dir.Combine("new.img")));
        r.AssertNoErrors();
        var info = Assert.IsType<FileInfo>(Assert.Single(r.Output).BaseObject);
        Assert.Equal(dir.Combine("new.img"), info.FullName);
        Assert.Equal(LegacyImages.Expected(spec, LegacyOutputFormat.Libxc), File.ReadAllBytes(info.FullName));
    }

    [Fact]
    public void DestinationFolderTakesManyInputsFromThePipeline()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("in"));
        var specs = new[] { new LegacySpec(), new LegacySpec { Width = 32 }, new LegacySpec { XlHeader = true, Pages = 50 } };
        for (int i = 0; i < specs.Length; i++)
        {
            File.WriteAllBytes(dir.Combine($"in/vm{i}.legacy"), LegacyImages.Build(specs[i]));
        }

        var r = PsHost.Run("""
            $ExecutionContext.InvokeProvider.ChildItem.Get($src, $false) |
                ConvertTo-XenStreamV2 -DestinationFolder $dst -GuestType Hvm -PassThru | Test-XenStream
            """, ("src", dir.Combine("in")), ("dst", dir.Combine("v2")));
        r.AssertNoErrors();
        Assert.Equal(new object[] { true, true, true }, r.Output.Select(o => o.BaseObject));
        for (int i = 0; i < specs.Length; i++)
        {
            var format = specs[i].XlHeader ? LegacyOutputFormat.Libxl : LegacyOutputFormat.Libxc;
            Assert.Equal(LegacyImages.Expected(specs[i], format), File.ReadAllBytes(dir.Combine($"v2/vm{i}.save")));
        }
    }

    [Fact]
    public void WhatIfWritesNothing()
    {
        using var dir = new TempDir();
        string input = dir.File("old.save", LegacyImages.Build(s_hvm));
        var r = PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm -WhatIf", ("in", input), ("out", dir.Combine("new.save")));
        r.AssertNoErrors();
        Assert.Equal(new[] { input }, Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void NoClobberReadOnlyAndForce()
    {
        using var dir = new TempDir();
        string input = dir.File("old.save", LegacyImages.Build(s_hvm));
        string existing = dir.File("new.save", "keep me"u8.ToArray());

        var noClobber = PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm -NoClobber", ("in", input), ("out", existing));
        Assert.Equal("NoClobber," + Cmd, Assert.Single(noClobber.Errors).FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, noClobber.Errors[0].CategoryInfo.Category);
        Assert.Equal("keep me", File.ReadAllText(existing));

        File.SetAttributes(existing, FileAttributes.ReadOnly);
        var readOnly = PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm", ("in", input), ("out", existing));
        Assert.Equal("FileOpenFailure," + Cmd, Assert.Single(readOnly.Errors).FullyQualifiedErrorId);
        Assert.Equal("keep me", File.ReadAllText(existing));

        var forced = PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm -Force", ("in", input), ("out", existing));
        forced.AssertNoErrors();
        Assert.Equal(LegacyImages.Expected(s_hvm, LegacyOutputFormat.Libxl), File.ReadAllBytes(existing));
        Assert.True(File.GetAttributes(existing).HasFlag(FileAttributes.ReadOnly));
        File.SetAttributes(existing, FileAttributes.Normal);

        // Without -NoClobber an existing, writable destination is replaced.
        File.WriteAllText(existing, "old contents");
        PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm", ("in", input), ("out", existing)).AssertNoErrors();
        Assert.Equal(LegacyImages.Expected(s_hvm, LegacyOutputFormat.Libxl), File.ReadAllBytes(existing));
        Assert.Empty(Leftovers(dir.Path));
    }

    [Fact]
    public void FailuresLeaveNoFileAndKeepTheExistingDestination()
    {
        using var dir = new TempDir();
        byte[] legacy = LegacyImages.Build(new LegacySpec { Pages = 40 });
        string cut = dir.File("cut.save", legacy.AsSpan(0, legacy.Length / 2).ToArray());
        string tmem = dir.File("tmem.save", LegacyImages.Build(new LegacySpec { ExtraChunk = new XenMigration.Framing.ByteBuilder().I32(-5).Zeros(8).ToArray() }));
        string existing = dir.File("existing.save", "previous"u8.ToArray());
        var r = PsHost.Run("""
            ConvertTo-XenStreamV2 $cut -Destination $new -GuestType Hvm
            ConvertTo-XenStreamV2 $tmem -Destination $existing -GuestType Hvm
            """, ("cut", cut), ("new", dir.Combine("new.save")), ("tmem", tmem), ("existing", existing));
        Assert.Equal(new[] { "UnexpectedEndOfStream," + Cmd, "UnsupportedLegacyChunk," + Cmd }, r.Errors.Select(e => e.FullyQualifiedErrorId));
        Assert.Contains("offset", r.Errors[1].Exception.Message);
        Assert.False(File.Exists(dir.Combine("new.save")));
        Assert.Equal("previous", File.ReadAllText(existing));
        Assert.Empty(Leftovers(dir.Path));
    }

    [Fact]
    public void RefusesToWriteOverItsInputAndReadsReadOnlyInputs()
    {
        using var dir = new TempDir();
        string input = dir.File("vm.save", LegacyImages.Build(s_hvm));
        string before = Hash(input);
        var same = PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $in -GuestType Hvm; ConvertTo-XenStreamV2 $in -DestinationFolder $d -GuestType Hvm", ("in", input), ("d", dir.Path));
        Assert.Equal(new[] { "DestinationIsSource," + Cmd, "DestinationIsSource," + Cmd }, same.Errors.Select(e => e.FullyQualifiedErrorId));
        Assert.Equal(before, Hash(input));

        File.SetAttributes(input, FileAttributes.ReadOnly);
        try
        {
            PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm", ("in", input), ("out", dir.Combine("out.save"))).AssertNoErrors();
            Assert.Equal(before, Hash(input));
        }
        finally
        {
            File.SetAttributes(input, FileAttributes.Normal);
        }
    }

    [Fact]
    public void ParameterAndInputErrors()
    {
        using var dir = new TempDir();
        string a = dir.File("a.legacy", LegacyImages.Build(new LegacySpec()));
        string b = dir.File("b.legacy", LegacyImages.Build(new LegacySpec()));
        string v2 = dir.File("v2.save", ImageBuilder.Build(new ImageSpec()));

        var both = PsHost.Run("ConvertTo-XenStreamV2 $a -Destination x -DestinationFolder y -GuestType Hvm", ("a", a));
        Assert.Equal("CannotSpecifyDestinationAndDestinationFolder," + Cmd, Assert.Single(both.Errors).FullyQualifiedErrorId);
        var none = PsHost.Run("ConvertTo-XenStreamV2 $a -GuestType Hvm", ("a", a));
        Assert.Equal("DestinationRequired," + Cmd, Assert.Single(none.Errors).FullyQualifiedErrorId);

        var two = PsHost.Run("ConvertTo-XenStreamV2 $a, $b -Destination $out -GuestType Hvm", ("a", a), ("b", b), ("out", dir.Combine("one.save")));
        Assert.Equal("DestinationTakesOneFile," + Cmd, Assert.Single(two.Errors).FullyQualifiedErrorId);
        Assert.True(File.Exists(dir.Combine("one.save")));

        var already = PsHost.Run("ConvertTo-XenStreamV2 $v -Destination $out -GuestType Hvm", ("v", v2), ("out", dir.Combine("x.save")));
        Assert.Equal("NotLegacyStream," + Cmd, Assert.Single(already.Errors).FullyQualifiedErrorId);

        var badGuest = PsHost.Run("ConvertTo-XenStreamV2 $a -Destination $out -GuestType Reserved", ("a", a), ("out", dir.Combine("y.save")));
        Assert.StartsWith("ParameterArgumentValidationError", Assert.Single(badGuest.Errors).FullyQualifiedErrorId);
        var badWidth = PsHost.Run("ConvertTo-XenStreamV2 $a -Destination $out -GuestType Hvm -Width 16", ("a", a), ("out", dir.Combine("y.save")));
        Assert.StartsWith("ParameterArgumentValidationError", Assert.Single(badWidth.Errors).FullyQualifiedErrorId);
        Assert.False(File.Exists(dir.Combine("x.save")));
        Assert.False(File.Exists(dir.Combine("y.save")));
    }

    [Fact]
    public void AmbiguousWidthAsksForWidth()
    {
        using var dir = new TempDir();
        byte[] ctx = ImageBuilder.HvmContextBlob(1);
        var ambiguous = new XenMigration.Framing.ByteBuilder()
            .U64(0x100).I32((int)LegacyChunk.HvmIdentPt).U32(0).U64(0xFEFFB000).I32(0)
            .U64(0xFEFFF).U16(1).U16(0).U32(24).U32(0x54381286).U32(0).U32((uint)ctx.Length).Bytes(ctx).ToArray();
        string input = dir.File("amb.legacy", ambiguous);
        var r = PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm -SkipQemu", ("in", input), ("out", dir.Combine("out.save")));
        var e = Assert.Single(r.Errors);
        Assert.Equal("AmbiguousWidth," + Cmd, e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        PsHost.Run("ConvertTo-XenStreamV2 $in -Destination $out -GuestType Hvm -SkipQemu -Width 64", ("in", input), ("out", dir.Combine("out.save"))).AssertNoErrors();
        Assert.True(File.Exists(dir.Combine("out.save")));
    }

    [Theory]
    [InlineData("Hvm", "Pv")]
    [InlineData("Pv", "Hvm")]
    public void WrongGuestTypeSaysSoInsteadOfAskingForAWidth(string actual, string given)
    {
        using var dir = new TempDir();
        var spec = new LegacySpec { GuestType = Enum.Parse<XenGuestType>(actual) };
        string input = dir.File("vm.legacy", LegacyImages.Build(spec));
        var r = PsHost.Run($"ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType {given}", ("in", input), ("out", dir.Combine("out.save")));
        var e = Assert.Single(r.Errors);
        Assert.Equal("GuestTypeMismatch," + Cmd, e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.DoesNotContain("-Width", e.ToString(), StringComparison.Ordinal);
        Assert.Contains("-GuestType " + actual, e.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("out.save")));
    }

    [Fact]
    public void NonLegacyGarbageIsNotAskedForAWidth()
    {
        using var dir = new TempDir();
        string input = dir.File("junk.bin", Enumerable.Repeat((byte)0xEE, 8192).ToArray());
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", dir.Combine("out.save")));
        var e = Assert.Single(r.Errors);
        Assert.DoesNotContain("-Width", e.ToString(), StringComparison.Ordinal);
        Assert.Contains("not a legacy Xen image", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AResultThatFailsVerificationIsNotWritten()
    {
        using var dir = new TempDir();
        // A PV image without vCPU 0: Xen's restore refuses it ("Sender didn't send vcpu0's basic state").
        string input = dir.File("novcpu0.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv, OnlineVcpus = new[] { 1, 2 } }));
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Pv", ("in", input), ("out", dir.Combine("out.save")));
        var e = Assert.Single(r.Errors);
        Assert.Equal("ConversionFailedVerification," + Cmd, e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidResult, e.CategoryInfo.Category);
        Assert.Contains("Vcpu0BasicMissing", e.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("out.save")));
        Assert.Empty(Leftovers(dir.Path));
    }
}
