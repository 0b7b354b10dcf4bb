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
        ["hvmcontext/hvm-2vcpu.ctx"] = () => ImageBuilder.HvmContextBlob(2),
        ["qemu/xen-devices.qemu"] = () => File.ReadAllBytes(Fixtures.QemuDevicesState),
        ["qemu/compress.qevm"] = () => File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-compress.qevm")),
        ["qemu/libvirt-devices.save"] = () => LibvirtImage(File.ReadAllBytes(Fixtures.QemuDevicesState)),
        ["qemu/devicemodelrecord.bin"] = () => "DeviceModelRecord0002"u8.ToArray().Concat(BitConverter.GetBytes(new FileInfo(Fixtures.QemuDevicesState).Length is long n ? (uint)n : 0)).Concat(File.ReadAllBytes(Fixtures.QemuDevicesState)).ToArray(),
    };

    // A version 2 libvirt header (little-endian), a short domain XML, then the stream, uncompressed.
    private static byte[] LibvirtImage(byte[] stream)
    {
        byte[] xml = "<domain><name>f</name></domain>\0"u8.ToArray();
        var header = new List<byte>("LibvirtQemudSave"u8.ToArray());
        foreach (uint v in new uint[] { 2, (uint)xml.Length, 0, 0, 0 })
        {
            header.AddRange(BitConverter.GetBytes(v));
        }

        header.AddRange(new byte[56]);
        return header.Concat(xml).Concat(stream).ToArray();
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
