using XenMigration.TestSupport;

namespace XenMigration.Bench;

/// <summary>The generated input files, written once and reused while their size matches.</summary>
public sealed class Workspace
{
    public Workspace(string dir)
    {
        Dir = dir;
        Directory.CreateDirectory(dir);
    }

    public string Dir { get; }

    public IEnumerable<(string Name, string Path, SyntheticImage Image)> GigabyteImages()
    {
        yield return Ensure("256 x 1024 pages", "hvm-1g-1024.libxc", new SyntheticImage(256, 1024));
        yield return Ensure("262144 x 1 page", "hvm-1g-1.libxc", new SyntheticImage(262_144, 1));
    }

    public string LargeXenstoreDump(int nodes)
    {
        string path = Path.Combine(Dir, "xenstore-" + nodes.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".dump");
        if (!File.Exists(path))
        {
            Console.WriteLine($"writing {path} ...");
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            XenstoreDumps.WriteLarge(fs, nodes);
        }

        return path;
    }

    public string LegacyGigabyteImage()
    {
        string path = Path.Combine(Dir, "hvm-1g.legacy");
        if (!File.Exists(path) || new FileInfo(path).Length < 1L << 30)
        {
            Console.WriteLine($"writing {path} ...");
            SyntheticLegacyImage.Write(path, 256);
        }

        return path;
    }

    private (string, string, SyntheticImage) Ensure(string name, string file, SyntheticImage image)
    {
        string path = Path.Combine(Dir, file);
        if (!File.Exists(path) || new FileInfo(path).Length != image.Length)
        {
            Console.WriteLine($"writing {path} ...");
            image.WriteTo(path);
        }

        return (name, path, image);
    }
}
