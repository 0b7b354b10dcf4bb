using System.Buffers.Binary;
using System.Globalization;
using XenMigration.Qemu;
using XenMigration.TestSupport;
using XenMigration.Images;

namespace XenMigration.Bench;

/// <summary>
/// Get-QemuDeviceState next to QEMU's own analyze-migration.py (7.2, when .ci/run has fetched it) and
/// `cat`, on a real QEMU stream and on a 1 GiB one made from it (the same devices after a RAM section
/// of 262,144 pages), with Get-QemuMemory reading one page of the large one.
/// </summary>
public static class QemuSuite
{
    public static void Run(Harness h, Workspace ws, ModuleHost host)
    {
        string small = QemuFixtures.PathOf("pc-7.2-stopped.qevm");
        string large = Path.Combine(ws.Dir, "qemu-1g.qevm");
        if (!File.Exists(large))
        {
            Console.WriteLine("qemu: writing " + large);
            WriteLarge(small, large, 262144);
        }

        bool haveAnalyzer = QemuAnalyzer.Missing is null;
        if (!haveAnalyzer)
        {
            Console.WriteLine("qemu: " + QemuAnalyzer.Missing + "; only Get-QemuDeviceState and cat are measured.");
        }

        foreach ((string name, string path) in new[] { ("QEMU 7.2 pc stream, 650 KB", small), ("1 GiB QEMU stream (262,144 pages)", large) })
        {
            Console.WriteLine("qemu: " + name);
            Row cat = h.Shell("Qemu", name, "cat FILE > /dev/null (baseline)", $"cat '{path}' > /dev/null");
            Row ours = h.Measure("Qemu", name, "Get-QemuDeviceState (hosted engine)", () => host.Invoke("@(Get-QemuDeviceState -LiteralPath $f).Count", ("f", path)));
            var rows = new List<Row> { cat, ours };
            if (haveAnalyzer)
            {
                Row theirs = h.Shell("Qemu", name, "QEMU analyze-migration.py -f FILE", $"python3 '{QemuAnalyzer.Script}' -f '{path}' > /dev/null");
                rows.Add(theirs);
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  Get-QemuDeviceState is {0:0.0}x faster than QEMU's analyzer", theirs.MedianSeconds / ours.MedianSeconds));
            }

            if (path == large)
            {
                rows.Add(h.Measure("Qemu", name, "Get-QemuMemory -Address 0x3FFFF000 -Length 4096", () => host.Invoke("(Get-QemuMemory -LiteralPath $f -Address 0x3FFFF000 -Length 4096).MissingBytes", ("f", path))));
            }

            Harness.SetRatios(rows, cat);
        }
    }

    // The fixture's header and configuration, a RAM section of `pages` distinct pages in one pc.ram
    // block, then the fixture's device sections, EOF and description unchanged.
    private static void WriteLarge(string fixture, string path, int pages)
    {
        byte[] src = File.ReadAllBytes(fixture);
        long firstFull;
        using (QemuImage image = QemuImage.OpenFile(fixture).Single())
        {
            firstFull = -1;
            while (image.Reader.ReadNext() is QemuRecord r)
            {
                if (r is QemuSection { Kind: QemuSectionKind.Full })
                {
                    firstFull = r.Offset;
                    break;
                }
            }
        }

        using var o = new BufferedStream(File.Create(path), 1 << 20);
        void Be(ulong v, int size)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(b, v);
            o.Write(b[(8 - size)..]);
        }

        void Name(string s)
        {
            o.WriteByte((byte)s.Length);
            o.Write(System.Text.Encoding.ASCII.GetBytes(s));
        }

        o.Write(src, 0, 26);                                   // QEVM header + configuration (18 bytes)
        ulong total = (ulong)pages * 4096;
        o.WriteByte(1); Be(2, 4); Name("ram"); Be(0, 4); Be(4, 4);
        Be(total | 0x04, 8); Name("pc.ram"); Be(total, 8); Be(0x10, 8);
        o.WriteByte(0x7E); Be(2, 4);
        o.WriteByte(2); Be(2, 4);
        byte[] page = new byte[4096];
        for (int i = 0; i < pages; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(page, i);
            Be(((ulong)i * 4096) | 0x08 | (i == 0 ? 0UL : 0x20), 8);
            if (i == 0)
            {
                Name("pc.ram");
            }

            o.Write(page);
        }

        Be(0x10, 8); o.WriteByte(0x7E); Be(2, 4);
        o.WriteByte(3); Be(2, 4); Be(0x10, 8); o.WriteByte(0x7E); Be(2, 4);
        o.Write(src, (int)firstFull, src.Length - (int)firstFull);
    }
}
