using System.Diagnostics;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using XenMigration.FileIO;

namespace XenMigration.Tests.Reliability;

/// <summary>Writers never replace special files, never overwrite their input through another name, and leave nothing behind.</summary>
public class WriterDestinationTests
{
    private const string Convert = "XenMigration.Commands.ConvertToXenStreamV2Command";
    private const string Export = "XenMigration.Commands.ExportXenstoreDumpCommand";

    private static void Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static string Legacy(TempDir dir) => dir.File("in.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Hvm }));

    [SkippableFact]
    public void AFifoOrDeviceDestinationIsRefusedAndLeftAlone()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs and stat(2) identities are tested on Linux");
        using var dir = new TempDir();
        string input = Legacy(dir);
        string fifo = dir.Combine("out.fifo");
        Run("mkfifo", fifo);
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm -Force", ("in", input), ("out", fifo));
        Assert.Equal("DestinationNotRegularFile," + Convert, Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(FileKind.Special, FileIdentity.KindOf(fifo));
        Assert.Equal(FileKind.Special, FileIdentity.KindOf("/dev/null"));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));

        var e = PsHost.Run("[pscustomobject]@{ Path = '/a'; Value = 'x' } | Export-XenstoreDump -LiteralPath $out -Force", ("out", fifo));
        Assert.Equal("DestinationNotRegularFile," + Export, Assert.Single(e.Errors).FullyQualifiedErrorId);
        Assert.Equal(FileKind.Special, FileIdentity.KindOf(fifo));
    }

    [SkippableTheory]
    [InlineData("symlink")]
    [InlineData("hardlink")]
    [InlineData("symlinked-folder")]
    public void TheInputIsNeverOverwrittenThroughAnotherName(string how)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "stat(2) identities are tested on Linux");
        using var dir = new TempDir();
        string input = Legacy(dir);
        byte[] before = File.ReadAllBytes(input);
        string alias = how switch
        {
            "symlink" => dir.Combine("alias.save"),
            "hardlink" => dir.Combine("hard.save"),
            _ => Path.Combine(dir.Combine("linkdir"), "in.legacy"),
        };
        if (how == "symlink")
        {
            File.CreateSymbolicLink(alias, input);
        }
        else if (how == "hardlink")
        {
            Run("ln", input, alias);
        }
        else
        {
            Directory.CreateSymbolicLink(dir.Combine("linkdir"), dir.Path);
        }

        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm -Force", ("in", input), ("out", alias));
        Assert.Equal("DestinationIsSource," + Convert, Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [SkippableFact]
    public void ADanglingSymlinkDestinationIsNamedAsSuch()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "stat(2) is tested on Linux");
        using var dir = new TempDir();
        string input = Legacy(dir);
        string dangling = dir.Combine("dangling.save");
        File.CreateSymbolicLink(dangling, dir.Combine("nowhere/target.save"));
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", dangling));
        var e = Assert.Single(r.Errors);
        Assert.Equal("DestinationIsDanglingLink," + Convert, e.FullyQualifiedErrorId);
        Assert.Contains(dangling, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CommitWithoutOverwriteNeverReplacesAFileThatAppearedMeanwhile()
    {
        using var dir = new TempDir();
        string destination = dir.Combine("out.dump");
        using var writer = AtomicFileWriter.Create(destination);
        writer.Stream.Write(new byte[] { 1, 2, 3 });
        File.WriteAllText(destination, "created by someone else during the work");
        Assert.Throws<IOException>(() => writer.Commit(overwrite: false));
        Assert.Equal("created by someone else during the work", File.ReadAllText(destination));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void TempFilesLeftByAKilledRunAreNamedByTheNextRun()
    {
        using var dir = new TempDir();
        string input = Legacy(dir);
        string destination = dir.Combine("out.save");
        string leftover = dir.File($".out.save.{Guid.NewGuid():N}.tmp", new byte[100]);
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", destination));
        r.AssertNoErrors();
        Assert.Contains(r.Warnings, w => w.Message.Contains(leftover, StringComparison.Ordinal));
        Assert.True(File.Exists(leftover));   // named, not deleted: another write may own it
        Assert.Equal(new[] { leftover }, AtomicFileWriter.FindLeftovers(destination));
    }
}

/// <summary>Writers on a full disk: an error, and no temporary file left behind.</summary>
public class FullDiskTests
{
    [SkippableFact]
    public void AFullDiskLeavesNoTemporaryFile()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "needs root on Linux to mount a small tmpfs");
        using var dir = new TempDir();
        string mount = Directory.CreateDirectory(dir.Combine("tiny")).FullName;
        var mounted = Process.Start("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]);
        mounted.WaitForExit();
        Skip.If(mounted.ExitCode != 0, "mount -t tmpfs is not permitted here");
        try
        {
            // About 800 KiB of output for a 256 KiB file system.
            string input = dir.File("big.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Hvm, Pages = 200, BatchSize = 50 }));
            var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", Path.Combine(mount, "out.save")));
            var e = Assert.Single(r.Errors);
            Assert.Contains("space", e.Exception.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(Directory.GetFileSystemEntries(mount));

            var x = PsHost.Run(
                "$nodes = foreach ($i in 1..20000) { [pscustomobject]@{ Path = \"/local/domain/1/data/key$i\"; Value = 'x' * 40 } }; $nodes | Export-XenstoreDump -LiteralPath $out",
                ("out", Path.Combine(mount, "big.dump")));
            Assert.NotEmpty(x.Errors);
            Assert.Empty(Directory.GetFileSystemEntries(mount));
        }
        finally
        {
            Process.Start("umount", [mount]).WaitForExit();
        }
    }
}
