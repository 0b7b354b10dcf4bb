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

/// <summary>What a replaced or new file looks like afterwards, and odd destination names.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class WriterFileAttributeTests
{
    private const string Convert = "XenMigration.Commands.ConvertToXenStreamV2Command";

    private static string Legacy(TempDir dir) => dir.File("in.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Hvm }));

    [SkippableFact]
    public void AReplacedFileKeepsItsModeAndTheTemporaryFileIsPrivate()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "POSIX modes");
        using var dir = new TempDir();
        string input = Legacy(dir);
        string destination = dir.File("out.save", new byte[] { 1 });
        File.SetUnixFileMode(destination, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", destination)).AssertNoErrors();
        Assert.True(File.ReadAllBytes(destination).Length > 1);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(destination));

        // A group-readable file stays group-readable (the temporary file's 0600 is not carried over).
        File.SetUnixFileMode(destination, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", destination)).AssertNoErrors();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(destination));

        using var writer = AtomicFileWriter.Create(dir.Combine("private.dump"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(writer.TempPath));
    }

    [SkippableFact]
    public void ANewFileGetsTheUmaskModeNotThePrivateOne()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "POSIX modes");
        using var dir = new TempDir();
        string input = Legacy(dir);
        string reference = dir.Combine("reference");
        File.WriteAllBytes(reference, new byte[1]);   // what any program gets under this umask
        string destination = dir.Combine("new.save");
        PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", destination)).AssertNoErrors();
        Assert.Equal(File.GetUnixFileMode(reference), File.GetUnixFileMode(destination));
    }

    [Theory]
    [InlineData(200)]
    [InlineData(218)]
    [InlineData(240)]
    [InlineData(255)]
    public void LongDestinationNamesAreWritten(int length)
    {
        // The temporary name adds a dot, a GUID and ".tmp" to the name: it must still fit NAME_MAX.
        using var dir = new TempDir();
        string input = Legacy(dir);
        string destination = dir.Combine(new string('n', length - 5) + ".save");
        var r = PsHost.Run("ConvertTo-XenStreamV2 -LiteralPath $in -Destination $out -GuestType Hvm", ("in", input), ("out", destination));
        r.AssertNoErrors();
        Assert.True(File.Exists(destination));
        Assert.Single(Directory.GetFiles(dir.Path), f => f == destination);
    }

    [Fact]
    public void ADestinationEndingInASeparatorIsAFolderCreatedOnDemand()
    {
        using var dir = new TempDir();
        string input = Legacy(dir);
        var r = PsHost.Run("$null = $ExecutionContext.SessionState.Path.SetLocation($d); ConvertTo-XenStreamV2 -LiteralPath $in -Destination ./newdir/ -GuestType Hvm -PassThru", ("in", input), ("d", dir.Path));
        r.AssertNoErrors();
        string expected = Path.Combine(dir.Path, "newdir", "in.save");
        Assert.Equal(expected, Assert.Single(r.Objects<FileInfo>()).FullName);
        Assert.True(File.Exists(expected));
    }

    [SkippableTheory]
    [InlineData("TERM")]
    [InlineData("HUP")]
    public void AnEndSignalRemovesTheTemporaryFile(string signal)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "POSIX signals");
        using var dir = new TempDir();
        // Large enough that the conversion is still running when the signal arrives.
        string input = dir.File("big.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Hvm, Pages = 60000, BatchSize = 1024 }));
        string destination = dir.Combine("out.save");
        string script = "Import-Module -Name $env:XM_MODULE; ConvertTo-XenStreamV2 -LiteralPath $env:XM_IN -Destination $env:XM_OUT -GuestType Hvm";
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, WorkingDirectory = Fixtures.RepoRoot, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { Fixtures.PwshDll, "-NoProfile", "-NonInteractive", "-Command", script })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["XM_MODULE"] = Fixtures.ModuleManifest;
        psi.Environment["XM_IN"] = input;
        psi.Environment["XM_OUT"] = destination;
        using var p = Process.Start(psi)!;
        var watch = Stopwatch.StartNew();
        string[] temps = [];
        while (temps.Length == 0 && !p.HasExited && watch.Elapsed < TimeSpan.FromMinutes(2))
        {
            temps = AtomicFileWriter.FindLeftovers(destination);
            Thread.Sleep(2);
        }

        Skip.If(temps.Length == 0, "the conversion finished before the temporary file was seen");
        Process.Start("kill", ["-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        Assert.True(p.WaitForExit(60_000), "pwsh did not end after SIG" + signal);
        Assert.Empty(AtomicFileWriter.FindLeftovers(destination));
        Assert.False(File.Exists(destination));
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
            Assert.Equal("FileWriteError,XenMigration.Commands.ConvertToXenStreamV2Command", e.FullyQualifiedErrorId);
            Assert.Equal(Path.Combine(mount, "out.save"), e.TargetObject);
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
