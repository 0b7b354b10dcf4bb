using System.Diagnostics;
using XenMigration.Compression;
using XenMigration.Images;
using XenMigration.Libvirt;
using XenMigration.Qemu;
using XenMigration.Tests.Memory;
using XenMigration.TestSupport;

namespace XenMigration.Tests.Compression;

/// <summary>
/// The compressors of libvirt save images (issue 22 item 4): the LZO1X decoder against Debian's
/// lzop, the library decoders against xz, bzip2 and zstd, damaged and hostile inputs.
/// </summary>
public class CompressionTests
{
    private static byte[] Compress(string tool, byte[] input, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        var output = new MemoryStream();
        Task copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        p.StandardInput.BaseStream.Write(input);
        p.StandardInput.Close();
        copy.Wait();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.ToArray();
    }

    // Inputs that exercise every LZO1X instruction: literals, short and long runs, near and far matches.
    private static IEnumerable<(string Name, byte[] Data)> Inputs()
    {
        var rng = new Random(22);
        byte[] random = new byte[300_000];
        rng.NextBytes(random);
        yield return ("random", random);
        yield return ("zeros", new byte[1_000_000]);
        byte[] text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 20000).Select(i => "line " + (i % 997) + " of the guest's memory, " + (i * 7 % 13) + "\n")));
        yield return ("text", text);
        byte[] mixed = new byte[700_000];
        for (int i = 0; i < mixed.Length; i++)
        {
            // Runs, repeats at distances from 1 byte to 48 KiB, and noise.
            mixed[i] = (i / 4096 % 4) switch
            {
                0 => (byte)(i % 3),
                1 => i >= 49_000 ? mixed[i - 49_000 + (i % 7)] : (byte)i,
                2 => (byte)rng.Next(4),
                _ => (byte)rng.Next(256),
            };
        }

        yield return ("mixed", mixed);
        yield return ("qemu", File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-stopped.qevm")));
        yield return ("one byte", new byte[] { 42 });
    }

    [SkippableFact]
    public void TheLzoDecoderReadsWhatLzopWrites()
    {
        Skip.IfNot(RealGuest.Tool("lzop"), "needs lzop (Debian package lzop)");
        foreach (var (name, data) in Inputs())
        {
            // -1 and -9: LZO1X-1 and LZO1X-999, whose encoders use different instructions; --crc32 the other checksums.
            foreach (string[] args in new[] { new[] { "-c", "-1" }, new[] { "-c", "-9" }, new[] { "-c", "--crc32" } })
            {
                byte[] lzo = Compress("lzop", data, args);
                using var s = new LzopReadStream(new MemoryStream(lzo), leaveOpen: false);
                var back = new MemoryStream();
                s.CopyTo(back);
                Assert.True(data.AsSpan().SequenceEqual(back.ToArray()), name + " " + string.Join(' ', args));
            }
        }
    }

    [SkippableTheory]
    [InlineData("xz")]
    [InlineData("bzip2")]
    [InlineData("zstd")]
    public void TheLibraryDecodersReadWhatTheToolsWrite(string tool)
    {
        var kind = Enum.Parse<LibraryCompressor>(tool, ignoreCase: true);
        Skip.IfNot(RealGuest.Tool(tool), "needs " + tool);
        foreach (var (name, data) in Inputs())
        {
            byte[] packed = Compress(tool, data, "-c", "-q");
            using var s = new LibraryDecompressStream(new MemoryStream(packed), kind, leaveOpen: false);
            var back = new MemoryStream();
            s.CopyTo(back);
            Assert.True(data.AsSpan().SequenceEqual(back.ToArray()), tool + " " + name);
        }
    }

    public static TheoryData<string> Compressed() => new() { "bzip2", "xz", "lzop", "zstd" };

    [Theory]
    [MemberData(nameof(Compressed))]
    public void EveryTruncationAndDamageIsAFormatErrorNeverACrash(string compression)
    {
        byte[] image = File.ReadAllBytes(QemuFixtures.PathOf("libvirt-pc-7.2-" + compression + ".save"));
        int start = 92 + 65536;   // the compressed stream starts after the header, XML, cookie and padding
        var rng = new Random(7);
        var cuts = Enumerable.Range(0, 64).Select(i => start + (int)((long)(image.Length - start) * i / 64)).Concat(Enumerable.Range(start, 64)).Distinct();
        foreach (int cut in cuts)
        {
            Check(image.AsSpan(0, cut).ToArray(), "cut at " + cut);
        }

        for (int i = 0; i < 48; i++)
        {
            byte[] damaged = (byte[])image.Clone();
            int at = start + rng.Next(Math.Min(4096, image.Length - start));
            damaged[at] ^= (byte)(1 << rng.Next(8));
            Check(damaged, "bit flipped at " + at);
        }

        static void Check(byte[] bytes, string what)
        {
            try
            {
                using QemuImage image = QemuImage.Open(new MemoryStream(bytes));
                while (image.Reader.ReadNext() is not null)
                {
                }
            }
            catch (XenFormatException)
            {
                return;   // refused with a stable id: what must happen to damaged data (or a damage the checksums catch later)
            }
            catch (Exception e)
            {
                Assert.Fail(what + ": " + e.GetType().Name + ": " + e.Message);
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Compressed))]
    public void ABombCostsTimeNotMemory(string compression)
    {
        Skip.IfNot(RealGuest.Tool(compression), "needs " + compression);

        // 256 MiB of zeros, a few KiB compressed, decoded to the end through the decoder the libvirt
        // reader uses: what is held is the decoders' windows and block buffers, not the output.
        byte[] packed = Compress(compression, new byte[256 << 20], "-c");
        GC.Collect();
        long before = GC.GetAllocatedBytesForCurrentThread();
        using (Stream s = compression == "lzop" ? new LzopReadStream(new MemoryStream(packed), false) : new LibraryDecompressStream(new MemoryStream(packed), Enum.Parse<LibraryCompressor>(compression, true), false))
        {
            byte[] buffer = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
            {
                total += n;
            }

            Assert.Equal(256L << 20, total);
        }

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 96L << 20, "bounded allocation");

        // Inside a libvirt image the reader stops at the stream's end marker (the first zero byte)
        // and does not decompress the rest.
        byte[] plain = new byte[64 << 20];
        "QEVM"u8.CopyTo(plain);
        plain[7] = 3;
        byte[] image = LibvirtImage(Enum.Parse<LibvirtCompression>(compression, true), Compress(compression, plain, "-c"));
        int records = 0;
        using (QemuImage q = QemuImage.Open(new MemoryStream(image)))
        {
            while (q.Reader.ReadNext() is not null)
            {
                records++;
            }
        }

        Assert.Equal(0, records);
    }

    // A libvirt save image around a compressed stream (qemu_saveimage.h: header, XML + NUL, padding).
    private static byte[] LibvirtImage(LibvirtCompression format, byte[] body)
    {
        byte[] xml = "<domain type='qemu'><name>bomb</name></domain>\0"u8.ToArray();
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write("LibvirtQemudSave"u8);
        w.Write(2u);
        w.Write((uint)(xml.Length + 1024));
        w.Write(1u);
        w.Write((uint)format);
        w.Write((uint)xml.Length);
        w.Write(new byte[56]);
        w.Write(xml);
        w.Write(new byte[1024]);
        w.Write(body);
        return ms.ToArray();
    }
}
