using XenMigration.Fuzz;
using XenMigration.Libxc;
using XenMigration.TestSupport;

namespace XenMigration.Tests.Reliability;

/// <summary>
/// The SharpFuzz harness (fuzz/XenMigration.Fuzz, docs/fuzzing.md): its seed corpus is kept equal
/// to the definitions here (XENMIGRATION_UPDATE_SAMPLES=1 rewrites it), and CI runs every target
/// over the seeds and a short seeded run of mutants of them.
/// </summary>
public class FuzzCorpusTests
{
    private static string CorpusDir => Path.Combine(Fixtures.RepoRoot, "fuzz", "corpus");

    private static readonly Dictionary<string, Func<byte[]>> s_seeds = new()
    {
        ["stream/hvm-xl.save"] = () => ImageBuilder.Build(new ImageSpec { Pages = 2, BatchSize = 2, Vcpus = 1, Checkpoints = 1 }),
        ["stream/pv-libxc.save"] = () => ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, Wrapping = Wrapping.None, Pages = 2, BatchSize = 2, Vcpus = 1 }),
        ["records/hvm-libxl.save"] = () => ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, Pages = 1, BatchSize = 1, Vcpus = 1 }),
        ["legacy/hvm.legacy"] = () => LegacyImages.Build(new LegacySpec { Pages = 2, BatchSize = 2 }),
        ["legacy/pv32.legacy"] = () => LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Pv, Width = 32, GuestWidth = 4, Pages = 2, BatchSize = 2 }),
        ["xenstore/c-1-basic.dump"] = () => File.ReadAllBytes(Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "xenstored-4.17", "c-1-basic.dump")),
        ["memory/hvm-resends.save"] = () => MemorySeed(),
        ["hvmcontext/hvm-2vcpu.ctx"] = () => ImageBuilder.HvmContextBlob(2),
        ["qemu/xen-devices.qemu"] = () => File.ReadAllBytes(Fixtures.QemuDevicesState),
        ["qemu/compress.qevm"] = () => File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-compress.qevm")),
        ["qemu/libvirt-devices.save"] = () => LibvirtImage(File.ReadAllBytes(Fixtures.QemuDevicesState)),
        ["qemu/libvirt-devices-bzip2.save"] = () => LibvirtImage(File.ReadAllBytes(QemuFixtures.PathOf("devices-state.bz2")), 2),
        ["qemu/libvirt-devices-xz.save"] = () => LibvirtImage(File.ReadAllBytes(QemuFixtures.PathOf("devices-state.xz")), 3),
        ["qemu/libvirt-devices-lzop.save"] = () => LibvirtImage(File.ReadAllBytes(QemuFixtures.PathOf("devices-state.lzo")), 4),
        ["qemu/libvirt-devices-zstd.save"] = () => LibvirtImage(File.ReadAllBytes(QemuFixtures.PathOf("devices-state.zst")), 5),
        ["qemu/description.qevm"] = DescriptionSeed,
        ["qemu/blocklists.qevm"] = BlockListSeed,
        ["qemu/devicemodelrecord.bin"] = () => "DeviceModelRecord0002"u8.ToArray().Concat(BitConverter.GetBytes(new FileInfo(Fixtures.QemuDevicesState).Length is long n ? (uint)n : 0)).Concat(File.ReadAllBytes(Fixtures.QemuDevicesState)).ToArray(),
    };

    // An HVM image whose pages come twice, with XALLOC and XTAB entries and a checkpoint.
    private static byte[] MemorySeed()
    {
        using var ms = new MemoryStream();
        var w = new XenMigration.XenStream.XenStreamWriter(ms, leaveOpen: true);
        w.WriteImageHeader(3);
        w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
        w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
        w.WritePageData(new ulong[] { 0, 1, 2 | (0xEUL << 60), 5 | (0xFUL << 60) }, new byte[2 * 4096]);
        w.WriteHvmContext(ImageBuilder.HvmContextBlob(1));
        w.WriteEmptyRecord(LibxcFormat.Checkpoint);
        w.WritePageData(new ulong[] { 1, 3 }, Enumerable.Repeat((byte)0x5A, 2 * 4096).ToArray());
        w.WriteEmptyRecord(LibxcFormat.End);
        return ms.ToArray();
    }

    // A device decoded by its JSON description: scalars, arrays (one of zero-size elements), a struct array.
    private static byte[] DescriptionSeed()
    {
        string inner = "{\"vmsd_name\":\"elt\",\"version\":1,\"fields\":[" + QemuStreamBuilder.Field("a", "uint16", 2) + "," + QemuStreamBuilder.Field("b", "uint8", 1, 2) + "]}";
        string description = QemuStreamBuilder.Description("dev", 0, 3,
            QemuStreamBuilder.Field("x", "uint32", 4),
            QemuStreamBuilder.Field("v", "uint64", 8, 3),
            QemuStreamBuilder.Field("z", "uint8", 0, 1000),
            QemuStreamBuilder.Field("s", "struct", 4, 2, inner),
            QemuStreamBuilder.Field("buf", "buffer", 6));
        byte[] body = Enumerable.Range(1, 4 + 24 + 8 + 6).Select(i => (byte)i).ToArray();
        return new QemuStreamBuilder().Full("dev", 0, 3, body).Build(description);
    }

    // RAM blocks, pages in two of them (raw, zero, zlib), empty and repeated block lists.
    private static byte[] BlockListSeed()
    {
        var b = new QemuStreamBuilder().RamStart(("pc.ram", 0x3000), ("vga.vram", 0x1000), ("pc.bios", 0x1000));
        b.RamChunk(r =>
        {
            r.RamPage("pc.ram", 0, QemuStreamBuilder.Repeat(0x11, 4096));
            r.Be(0x1000 | QemuStreamBuilder.Zero | QemuStreamBuilder.Continue, 8).Bytes([0]);
            r.BlockList();
            r.CompressedPage("vga.vram", 0, QemuStreamBuilder.Zlib(QemuStreamBuilder.Repeat(0x22, 4096)));
            r.BlockList(("extra", 0x1000));
        });
        b.RamChunk(r => r.RamPage("pc.ram", 0x2000, QemuStreamBuilder.Repeat(0x33, 4096)), end: true);
        return b.Build();
    }

    // A version 2 libvirt header (little-endian), a short domain XML, then the stream, uncompressed.
    private static byte[] LibvirtImage(byte[] stream, uint compression = 0)
    {
        byte[] xml = "<domain><name>f</name></domain>\0"u8.ToArray();
        var header = new List<byte>("LibvirtQemudSave"u8.ToArray());
        foreach (uint v in new uint[] { 2, (uint)xml.Length, 0, compression, 0 })
        {
            header.AddRange(BitConverter.GetBytes(v));
        }

        header.AddRange(new byte[56]);
        return header.Concat(xml).Concat(stream).ToArray();
    }

    [Fact]
    public void TheQemuSeedsReachTheDescriptionAndBlockListPaths()
    {
        using (var image = XenMigration.Images.QemuImage.Open(new MemoryStream(DescriptionSeed())))
        {
            var section = Assert.IsType<XenMigration.Qemu.QemuSection>(image.Reader.ReadNext());
            Assert.Equal(XenMigration.Qemu.QemuDecodeSource.Description, section.DecodedFrom);
            Assert.Null(image.Reader.ReadNext());
            Assert.True(image.Reader.IsComplete);
        }

        var options = new XenMigration.Qemu.QemuStreamReaderOptions { Memory = XenMigration.Qemu.QemuMemoryRequest.InBlock("pc.ram", 0, 0x3000) };
        using (var image = XenMigration.Images.QemuImage.Open(new MemoryStream(BlockListSeed()), options: options))
        {
            byte[] ram = image.Reader.ReadMemory().ToArray();
            Assert.True(image.Reader.IsComplete);
            Assert.Equal([0x11, 0x00, 0x33], new[] { ram[0], ram[0x1000], ram[0x2000] });
        }
    }

    public static TheoryData<string> Seeds() => new(s_seeds.Keys);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void SeedMatchesItsDefinitionAndItsTargetAndMutantsOnlyGiveFormatErrors(string name)
    {
        string path = Path.Combine(CorpusDir, name);
        byte[] seed = s_seeds[name]();
        if (Environment.GetEnvironmentVariable("XENMIGRATION_UPDATE_SAMPLES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, seed);
        }

        Assert.True(File.Exists(path), path + " is missing (run the tests with XENMIGRATION_UPDATE_SAMPLES=1)");
        Assert.Equal(seed, File.ReadAllBytes(path));

        Action<Stream> target = FuzzTargets.All[name.Split('/')[0]];
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7FFF);
        for (int round = 0; round < 300; round++)
        {
            byte[] data = round == 0 ? seed : (byte[])seed.Clone();
            for (int e = 0; round > 0 && e < 1 + random.Next(6); e++)
            {
                data[random.Next(data.Length)] = (byte)random.Next(256);
            }

            if (round > 0 && random.Next(8) == 0)
            {
                data = data[..random.Next(data.Length)];
            }

            var ex = Record.Exception(() => target(new MemoryStream(data)));
            Assert.True(ex is null, $"{name} round {round}: {ex?.GetType().Name}: {ex?.Message}\n{ex?.StackTrace}");
        }
    }
}

/// <summary>
/// Inputs on which AFL++ once crashed a target (fuzz/regressions/&lt;target&gt;/, kept as found): each
/// must now be refused with a format error, or read.
/// </summary>
public class FuzzRegressionTests
{
    public static TheoryData<string> Findings()
    {
        var data = new TheoryData<string>();
        string dir = Path.Combine(Fixtures.RepoRoot, "fuzz", "regressions");
        foreach (string file in Directory.GetFiles(dir, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(dir, file).Replace('\\', '/'));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Findings))]
    public void AnInputThatOnceCrashedIsACleanRefusalNow(string name)
    {
        Action<Stream> target = FuzzTargets.All[name.Split('/')[0]];
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.RepoRoot, "fuzz", "regressions", name));
        var ex = Record.Exception(() => target(new MemoryStream(data)));
        Assert.True(ex is null, $"{name}: {ex?.GetType().Name}: {ex?.Message}\n{ex?.StackTrace}");
    }
}
