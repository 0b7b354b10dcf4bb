using System.Diagnostics;
using System.Text;
using XenMigration.FileIO;
using XenMigration.Libxc;
using XenMigration.Memory;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Tests.PowerShell;

namespace XenMigration.Tests.Memory;

/// <summary>
/// A real Linux guest, booted under Debian's QEMU by tests/fixtures/guest/make-guest.sh into
/// out/guest (once; about 10 s under TCG), with QEMU's own dump-guest-memory and pmemsave of it.
/// </summary>
public sealed class RealGuest
{
    public const string Marker = "XENMIGRATION-GUEST-MARKER-4f1c2a";

    private static readonly Lazy<RealGuest> s_guest = new(() => new RealGuest());

    private RealGuest()
    {
        Dir = Path.Combine(Fixtures.RepoRoot, "out", "guest");
        if (File.Exists(Path.Combine(Dir, "guest.qevm")) && File.Exists(Path.Combine(Dir, "qemu-dump.elf")))
        {
            return;
        }

        if (!Tool("qemu-system-x86_64") || !Directory.EnumerateFiles("/boot", "vmlinuz-*-amd64").Any() || !(Tool("busybox") || File.Exists("/bin/busybox")) || !Tool("cpio"))
        {
            Missing = "needs qemu-system-x86, linux-image-amd64, busybox-static and cpio (.ci/run installs them)";
            return;
        }

        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "guest", "make-guest.sh"));
        psi.ArgumentList.Add(Dir);
        using var p = Process.Start(psi)!;
        string log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        if (!p.WaitForExit(600_000) || p.ExitCode != 0)
        {
            Missing = "make-guest.sh failed: " + log;
        }
    }

    public static RealGuest Instance => s_guest.Value;

    public string Dir { get; }

    public string? Missing { get; }

    public string Stream => Path.Combine(Dir, "guest.qevm");

    public string QemuDump => Path.Combine(Dir, "qemu-dump.elf");

    public static bool Tool(string name) => Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    public static (int Code, string Output) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit(300_000);
        return (p.ExitCode, stdout.Result + stderr);
    }

    /// <summary>(address, file offset, size) of each PT_LOAD, and the notes' (owner, type) in order.</summary>
    public static (List<(ulong Address, long Offset, long Size)> Loads, List<(string Owner, uint Type, byte[] Desc)> Notes) ReadElf(string path)
    {
        using var f = File.OpenRead(path);
        var r = new BinaryReader(f);
        f.Position = 32;
        long phoff = r.ReadInt64();
        f.Position = 56;
        int phnum = r.ReadUInt16();
        var loads = new List<(ulong, long, long)>();
        var notes = new List<(string, uint, byte[])>();
        for (int i = 0; i < phnum; i++)
        {
            f.Position = phoff + (56 * i);
            uint type = r.ReadUInt32();
            r.ReadUInt32();
            long offset = r.ReadInt64();
            ulong vaddr = r.ReadUInt64();
            ulong paddr = r.ReadUInt64();
            long size = r.ReadInt64();
            Assert.Equal(vaddr, paddr);
            if (type == 1)
            {
                loads.Add((paddr, offset, size));
            }
            else if (type == 4)
            {
                Assert.Empty(loads);   // PT_NOTE first
                f.Position = offset;
                byte[] all = r.ReadBytes((int)size);
                for (int at = 0; at + 12 <= all.Length;)
                {
                    int n = BitConverter.ToInt32(all, at), d = BitConverter.ToInt32(all, at + 4);
                    uint t = BitConverter.ToUInt32(all, at + 8);
                    string owner = Encoding.ASCII.GetString(all, at + 12, n).TrimEnd('\0');
                    int desc = at + 12 + ((n + 3) & ~3);
                    notes.Add((owner, t, all[desc..(desc + d)]));
                    at = desc + ((d + 3) & ~3);
                }
            }
        }

        return (loads, notes);
    }
}

/// <summary>The module's exports of the real guest against QEMU's own dump and the tools that read cores.</summary>
public class QemuGuestMemoryTests
{
    private static readonly Lazy<(string Raw, string Elf)> s_exports = new(() =>
    {
        RealGuest g = RealGuest.Instance;
        string raw = Path.Combine(g.Dir, "module.raw"), elf = Path.Combine(g.Dir, "module.elf");
        var commit = new CommitOptions();
        GuestMemoryExport.ExportFile(g.Stream, raw, new GuestMemoryExportOptions { Format = GuestMemoryFormat.Raw }, commit);
        GuestMemoryExport.ExportFile(g.Stream, elf, new GuestMemoryExportOptions { Format = GuestMemoryFormat.Elf }, commit);
        return (raw, elf);
    });

    private static (string Raw, string Elf) Exports()
    {
        Skip.If(RealGuest.Instance.Missing is not null, RealGuest.Instance.Missing);
        return s_exports.Value;
    }

    [SkippableFact]
    public void TheRawExportEqualsQemusPmemsaveOfEveryRange()
    {
        string raw = Exports().Raw;
        var (loads, _) = RealGuest.ReadElf(RealGuest.Instance.QemuDump);
        Assert.NotEmpty(loads);
        using var mine = File.OpenRead(raw);
        foreach (var (address, _, size) in loads)
        {
            using var pmem = File.OpenRead(Path.Combine(RealGuest.Instance.Dir, $"pmem-{address:x}.raw"));
            Assert.True(SameBytes(pmem, 0, mine, (long)address, size), $"range 0x{address:x} differs from pmemsave");
        }

        // Sparse: the 4 GiB apparent file (the BIOS sits below 4 GiB) stores about what the guest used.
        Assert.Equal(1L << 32, new FileInfo(raw).Length);
        Assert.True(new FileInfo(raw).Length > 20 * DiskBytes(raw), "the raw image is sparse");
    }

    [SkippableFact]
    public void TheElfExportHasQemusRangesAndContents()
    {
        string elf = Exports().Elf;
        var (theirs, _) = RealGuest.ReadElf(RealGuest.Instance.QemuDump);
        var (mine, notes) = RealGuest.ReadElf(elf);
        Assert.Equal(theirs.Select(l => (l.Address, l.Size)), mine.Select(l => (l.Address, l.Size)));
        using var a = File.OpenRead(RealGuest.Instance.QemuDump);
        using var b = File.OpenRead(elf);
        foreach (var ((_, offA, size), (address, offB, _)) in theirs.Zip(mine))
        {
            Assert.True(SameBytes(a, offA, b, offB, size), $"PT_LOAD 0x{address:x} differs");
        }

        Assert.Equal(2, notes.Count(n => n.Owner == "CORE" && n.Type == 1));
        Assert.Equal(2, notes.Count(n => n.Owner == "QEMU"));
        var vmcoreinfo = Assert.Single(notes, n => n.Owner == "VMCOREINFO");
        Assert.StartsWith("OSRELEASE=", Encoding.ASCII.GetString(vmcoreinfo.Desc), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ReadelfListsTheNotesAndLoads()
    {
        Skip.IfNot(RealGuest.Tool("readelf"), "needs binutils");
        var (code, text) = RealGuest.Run("readelf", "-lWn", Exports().Elf);
        Assert.Equal(0, code);
        Assert.Contains("CORE", text, StringComparison.Ordinal);
        Assert.Contains("NT_PRSTATUS", text, StringComparison.Ordinal);
        Assert.Contains("VMCOREINFO", text, StringComparison.Ordinal);
        Assert.Equal(3, text.Split('\n').Count(l => l.TrimStart().StartsWith("LOAD", StringComparison.Ordinal) || l.TrimStart().StartsWith("NOTE", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void GdbReadsTheKernelBannerAndTheRegistersQemuReports()
    {
        Skip.IfNot(RealGuest.Tool("gdb"), "needs gdb");
        string elf = Exports().Elf;
        ulong banner = BannerAddress();
        foreach (string core in new[] { elf, RealGuest.Instance.QemuDump })
        {
            var (code, text) = RealGuest.Run("gdb", "-nx", "-batch", "-c", core, "-ex", $"x/s 0x{banner:x}", "-ex", "info registers rip");
            Assert.True(code == 0, text);
            Assert.Contains("Linux version", text, StringComparison.Ordinal);
            string rip = File.ReadAllLines(Path.Combine(RealGuest.Instance.Dir, "registers.txt")).First(l => l.StartsWith("RIP=", StringComparison.Ordinal))[4..20].TrimStart('0');
            Assert.Contains("0x" + rip, text, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void CrashNamesTheKernelReleaseWithoutSymbols()
    {
        Skip.IfNot(RealGuest.Tool("crash"), "needs crash");
        string release = File.ReadAllText(Path.Combine(RealGuest.Instance.Dir, "console.txt")).Split("Linux version ")[1].Split(' ')[0];
        var (_, mine) = RealGuest.Run("crash", "--osrelease", Exports().Elf);
        Assert.Equal(release, mine.Trim());
        // QEMU 7.2's own dump has no VMCOREINFO note (the guest did not register one through fw_cfg):
        // crash cannot name the release from it.
        var (_, theirs) = RealGuest.Run("crash", "--osrelease", RealGuest.Instance.QemuDump);
        Assert.Equal("unknown", theirs.Trim());
    }

    [SkippableFact]
    public void MakedumpfileFindsTheMarkerTheGuestLogged()
    {
        Skip.IfNot(RealGuest.Tool("makedumpfile"), "needs makedumpfile");
        using var dir = new TempDir();
        string dmesg = dir.Combine("dmesg.txt");
        var (code, text) = RealGuest.Run("makedumpfile", "--dump-dmesg", Exports().Elf, dmesg);
        Assert.True(code == 0, text);
        Assert.Contains(RealGuest.Marker, File.ReadAllText(dmesg), StringComparison.Ordinal);
        // On QEMU's own dump it fails (no VMCOREINFO): the reference shows what the note is for.
        var (theirs, _) = RealGuest.Run("makedumpfile", "--dump-dmesg", RealGuest.Instance.QemuDump, dir.Combine("theirs.txt"));
        Assert.NotEqual(0, theirs);
    }

    [SkippableFact]
    public void DrgnOpensTheCoreAsALinuxKernelAndReadsPhysicalMemory()
    {
        Skip.IfNot(File.Exists("/usr/bin/python3") && RealGuest.Run("/usr/bin/python3", "-c", "import drgn").Code == 0, "needs python3-drgn");
        ulong banner = BannerAddress();
        string script = "import drgn,sys; p=drgn.Program(); p.set_core_dump(sys.argv[1]); print(p.flags); print(p.read(int(sys.argv[2],16),13,True))";
        var (code, text) = RealGuest.Run("/usr/bin/python3", "-c", script, Exports().Elf, banner.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(code == 0, text);
        Assert.Contains("IS_LINUX_KERNEL", text, StringComparison.Ordinal);
        Assert.Contains("Linux version", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TheCmdletsWriteTheSameFiles()
    {
        var (raw, elf) = Exports();
        using var dir = new TempDir();
        var r = PsHost.Run("Export-GuestMemory -LiteralPath $p -DestinationFolder $d -Format Elf -PassThru", ("p", RealGuest.Instance.Stream), ("d", dir.Path));
        r.AssertNoErrors();
        FileInfo written = Assert.Single(r.Objects<FileInfo>());
        Assert.Equal("guest.elf", written.Name);
        Assert.Equal(new FileInfo(elf).Length, written.Length);
        using var a = File.OpenRead(elf);
        using var b = File.OpenRead(written.FullName);
        Assert.True(SameBytes(a, 0, b, 0, written.Length));
    }

    [SkippableTheory]
    [InlineData(0x1000UL, 4096L)]
    [InlineData(0x123457UL, 3L * 1024 * 1024 + 5)]      // unaligned at both ends
    [InlineData(0x7FFF000UL, 0x2000L)]                 // past the end of the 128 MiB of RAM: a hole
    public void ARangeExportIsThoseBytesOfQemusPmemsave(ulong address, long length)
    {
        Skip.If(RealGuest.Instance.Missing is not null, RealGuest.Instance.Missing);
        using var dir = new TempDir();
        string range = dir.Combine("range.raw");
        PsHost.Run("Export-GuestMemory -LiteralPath $p -Destination $d -Address $a -Length $l", ("p", RealGuest.Instance.Stream), ("d", range), ("a", address), ("l", length)).AssertNoErrors();
        Assert.Equal(length, new FileInfo(range).Length);
        using var pmem = File.OpenRead(Path.Combine(RealGuest.Instance.Dir, "pmem-0.raw"));
        using var mine = File.OpenRead(range);
        long inRam = Math.Max(0, Math.Min(length, pmem.Length - (long)address));
        Assert.True(SameBytes(pmem, (long)address, mine, 0, inRam), "the range differs from pmemsave");
        byte[] rest = new byte[length - inRam];
        mine.Position = inRam;
        mine.ReadExactly(rest);
        Assert.All(rest, b => Assert.Equal(0, b));
    }

    private static ulong BannerAddress()
    {
        // linux_banner, found in QEMU's own raw copy of low memory.
        byte[] low = File.ReadAllBytes(Path.Combine(RealGuest.Instance.Dir, "pmem-0.raw"));
        int at = low.AsSpan().IndexOf("Linux version 6"u8);
        Assert.True(at > 0);
        return (ulong)at;
    }

    internal static long DiskBytes(string path)
    {
        var (_, text) = RealGuest.Run("du", "-B1", path);
        return long.Parse(text.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static bool SameBytes(Stream a, long offsetA, Stream b, long offsetB, long size)
    {
        {
            a.Position = offsetA;
            b.Position = offsetB;
            byte[] x = new byte[1 << 20], y = new byte[1 << 20];
            while (size > 0)
            {
                int n = (int)Math.Min(size, x.Length);
                a.ReadExactly(x, 0, n);
                b.ReadExactly(y, 0, n);
                if (!x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, n)))
                {
                    return false;
                }

                size -= n;
            }

            return true;
        }
    }
}

/// <summary>The real guest's memory as a Xen HVM image (built with the stream writer): the export must be the final memory exactly.</summary>
public class XenGuestMemoryTests
{
    // pmem-0.raw as a libxc v3 HVM stream: two passes (the first with stale copies of every 7th
    // page), zero pages as XALLOC, a few XTAB entries, the special pages near 0xfeff0, vCPUs in
    // HVM_CONTEXT; optionally as two checkpoints (the first holding the stale copies).
    private static byte[] Build(byte[] memory, bool checkpointed)
    {
        using var ms = new MemoryStream();
        var w = new XenStreamWriter(ms, leaveOpen: true);
        w.WriteImageHeader(3);
        w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
        w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
        long pages = memory.Length / 4096;
        void Pass(Func<long, bool> include, Func<long, byte[]> contents)
        {
            var words = new List<ulong>();
            var data = new MemoryStream();
            void Flush()
            {
                if (words.Count > 0)
                {
                    w.WritePageData(words, data.ToArray());
                    words.Clear();
                    data.SetLength(0);
                }
            }

            for (long pfn = 0; pfn < pages; pfn++)
            {
                if (!include(pfn))
                {
                    continue;
                }

                byte[] page = contents(pfn);
                if (page.AsSpan().IndexOfAnyExcept((byte)0) < 0)
                {
                    words.Add((ulong)pfn | ((ulong)XenPageType.XAlloc << 60));
                }
                else
                {
                    words.Add((ulong)pfn);
                    data.Write(page);
                }

                if (words.Count == 1024)
                {
                    Flush();
                }
            }

            Flush();
        }

        byte[] Real(long pfn) => memory.AsSpan((int)(pfn * 4096), 4096).ToArray();
        byte[] Stale(long pfn) => Enumerable.Repeat((byte)0xA5, 4096).ToArray();
        Pass(_ => true, pfn => pfn % 7 == 3 ? Stale(pfn) : Real(pfn));
        w.WritePageData(new ulong[] { 0x9000UL | (0xFUL << 60), 0x9001UL | (0xFUL << 60) }, Array.Empty<byte>());   // XTAB: not memory
        if (checkpointed)
        {
            w.WriteHvmContext(ImageBuilder.HvmContextBlob(2));
            w.WriteEmptyRecord(LibxcFormat.Checkpoint);
        }

        Pass(pfn => pfn % 7 == 3, Real);
        w.WritePageData(Enumerable.Range(0, 16).Select(i => (ulong)(0xFEFF0 + i)).ToList(), new byte[16 * 4096]);
        w.WriteHvmContext(ImageBuilder.HvmContextBlob(2));
        if (checkpointed)
        {
            w.WriteEmptyRecord(LibxcFormat.Checkpoint);
        }

        w.WriteEmptyRecord(LibxcFormat.End);
        return ms.ToArray();
    }

    private static byte[] Memory()
    {
        Skip.If(RealGuest.Instance.Missing is not null, RealGuest.Instance.Missing);
        return File.ReadAllBytes(Path.Combine(RealGuest.Instance.Dir, "pmem-0.raw"));
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheRawExportIsTheFinalMemory(bool checkpointed)
    {
        byte[] memory = Memory();
        using var dir = new TempDir();
        string image = dir.File("guest.save", Build(memory, checkpointed));
        string raw = dir.Combine("guest.raw");
        var r = GuestMemoryExport.ExportFile(image, raw, new GuestMemoryExportOptions { Format = GuestMemoryFormat.Raw }, new CommitOptions());
        Assert.Equal(0xFF000000L, new FileInfo(raw).Length);   // up to the special pages at 0xfeff0000
        using (var f = File.OpenRead(raw))
        {
            Assert.True(QemuGuestMemoryTests.SameBytes(new MemoryStream(memory), 0, f, 0, memory.Length));
        }

        Assert.True(r.ZeroPages > 0);
        Assert.True(QemuGuestMemoryTests.DiskBytes(raw) < memory.Length, "zero pages and the hole below the special pages are not stored");

        if (checkpointed)
        {
            // The first checkpoint still has the stale copies.
            string first = dir.Combine("first.raw");
            GuestMemoryExport.ExportFile(image, first, new GuestMemoryExportOptions { Format = GuestMemoryFormat.Raw, Checkpoint = 1 }, new CommitOptions());
            byte[] page = new byte[4096];
            using var f = File.OpenRead(first);
            f.Position = 3 * 4096;
            f.ReadExactly(page);
            Assert.All(page, b => Assert.Equal(0xA5, b));
        }
    }

    [SkippableFact]
    public void ARangeOfAXenImageIsTheFinalMemoryThere()
    {
        byte[] memory = Memory();
        using var dir = new TempDir();
        string image = dir.File("guest.save", Build(memory, checkpointed: false));
        string range = dir.Combine("range.raw");
        const ulong Address = 0x2345;
        const long Length = 9 * 4096;
        GuestMemoryExport.ExportFile(image, range, new GuestMemoryExportOptions { Format = GuestMemoryFormat.Raw, Range = (Address, Length) }, new CommitOptions());
        Assert.Equal(memory.AsSpan((int)Address, (int)Length).ToArray(), File.ReadAllBytes(range));
        Assert.Throws<ArgumentException>(() => GuestMemoryExport.ExportFile(image, dir.Combine("r.elf"), new GuestMemoryExportOptions { Format = GuestMemoryFormat.Elf, Range = (Address, Length) }, new CommitOptions()));
        Assert.False(File.Exists(dir.Combine("r.elf")));
    }

    [SkippableFact]
    public void TheElfExportOfTheXenImageIsReadByTheTools()
    {
        byte[] memory = Memory();
        using var dir = new TempDir();
        string image = dir.File("guest.save", Build(memory, false));
        string elf = dir.Combine("guest.elf");
        GuestMemoryExportResult r = GuestMemoryExport.ExportFile(image, elf, new GuestMemoryExportOptions { Format = GuestMemoryFormat.Elf }, new CommitOptions());
        Assert.Equal(2, r.Vcpus);
        Assert.True(r.HasVmcoreInfo);
        var (loads, notes) = RealGuest.ReadElf(elf);
        Assert.Equal(0UL, loads[0].Address);
        Assert.Equal((ulong)0xFEFF0000, loads[^1].Address);
        Assert.Equal(2, notes.Count(n => n.Owner == "CORE"));
        if (RealGuest.Tool("makedumpfile"))
        {
            var (code, text) = RealGuest.Run("makedumpfile", "--dump-dmesg", elf, dir.Combine("dmesg.txt"));
            Assert.True(code == 0, text);
            Assert.Contains(RealGuest.Marker, File.ReadAllText(dir.Combine("dmesg.txt")), StringComparison.Ordinal);
        }

        if (RealGuest.Tool("gdb"))
        {
            var (_, text) = RealGuest.Run("gdb", "-nx", "-batch", "-c", elf, "-ex", "info registers rip");
            Assert.Contains("0xffffffff81c0f2ab", text, StringComparison.Ordinal);   // the HVM context's vCPU 0
        }
    }

    [SkippableFact]
    public void GetXenMemoryReadsTheLastCopyOfPagesAndRanges()
    {
        byte[] memory = Memory();
        using var dir = new TempDir();
        string image = dir.File("guest.save", Build(memory, false));
        var r = PsHost.Run("Get-XenMemory -LiteralPath $p -Pfn 3, 0x9000; Get-XenMemory -LiteralPath $p -Address 0x2ff0 -Length 0x20", ("p", image));
        r.AssertNoErrors();
        var ranges = r.Objects<GuestMemoryRange>().ToList();
        Assert.Equal(memory.AsSpan(3 * 4096, 4096).ToArray(), ranges[0].ToArray());
        Assert.Equal(4096, ranges[1].MissingBytes);   // XTAB: not memory
        Assert.Equal(memory.AsSpan(0x2ff0, 0x20).ToArray(), ranges[2].ToArray());

        var runs = PsHost.Run("Get-XenMemory -LiteralPath $p", ("p", image)).Objects<GuestMemoryRun>().ToList();
        Assert.Contains(runs, x => x.Kind == GuestMemoryKind.Absent && x.StartPfn == 0x9000 && x.PageCount == 2);
        Assert.Contains(runs, x => x.StartPfn == 0xFEFF0 && x.PageCount == 16);
    }
}
