using System.Diagnostics;
using System.Management.Automation;
using System.IO.Compression;
using XenMigration.Images;
using XenMigration.Libxc;
using XenMigration.Qemu;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using static XenMigration.TestSupport.QemuStreamBuilder;

namespace XenMigration.Tests.Reliability;

/// <summary>
/// Hostile QEMU streams (issue 18, items 1-12): memory is bounded by the input, work is linear and
/// stoppable, nothing is misread silently, and every fault is a per-file error with its offset.
/// Memory is measured as bytes allocated by the reading thread, which bounds the peak too.
/// </summary>
public class QemuHostileTests
{
    private const string DeviceState = "XenMigration.Commands.GetQemuDeviceStateCommand";
    private const string Memory = "XenMigration.Commands.GetQemuMemoryCommand";

    private static readonly string ZeroSizeBomb = Field("f", "uint8", 0, 16 * 1024 * 1024);

    private static List<QemuSection> Sections(byte[] stream, QemuStreamReaderOptions? options = null) => Sections(new MemoryStream(stream), options, out _);

    private static List<QemuSection> Sections(Stream stream, QemuStreamReaderOptions? options, out QemuImage image)
    {
        image = QemuImage.Open(stream, options: options);
        var sections = new List<QemuSection>();
        while (image.Reader.ReadNext() is QemuRecord r)
        {
            if (r is QemuSection s)
            {
                sections.Add(s);
            }
        }

        return sections;
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    // Small fixed costs (read buffers, the built-in layout table, the JSON text) plus a small multiple of the input.
    private const long Fixed = 8L << 20;

    private static byte[] DeviceWith(byte[] body, params string[] fields) =>
        new QemuStreamBuilder().Full("dev", 0, 1, body).Build(Description("dev", 0, 1, fields));

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void ZeroSizeFieldsWithHugeArraysCostNothing(int fields)
    {
        byte[] stream = DeviceWith(new byte[16], Enumerable.Repeat(ZeroSizeBomb, fields).ToArray());
        Assert.True(stream.Length < 1024, "a bomb of a few hundred bytes");
        List<QemuSection> sections = [];
        long allocated = Allocated(() => sections = Sections(stream));
        Assert.True(allocated < Fixed, $"{allocated:N0} bytes allocated for a {stream.Length}-byte stream");
        Assert.Equal(QemuDecodeSource.Description, Assert.Single(sections).DecodedFrom);
    }

    [Fact]
    public void AStructArrayOfBombsIsBoundedByTheSectionsBytes()
    {
        string inner = "{\"vmsd_name\":\"x\",\"version\":1,\"fields\":[" + ZeroSizeBomb + "]}";
        byte[] stream = DeviceWith(new byte[64], Field("s", "struct", 0, 16 * 1024 * 1024, inner));
        long allocated = Allocated(() => Sections(stream));
        Assert.True(allocated < Fixed, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void SixteenMegabytesOfOneByteFieldsCostASmallMultipleOfTheBody()
    {
        const int n = 16 * 1024 * 1024;
        byte[] stream = DeviceWith(new byte[n], Field("b", "uint8", 1, n));
        long allocated = Allocated(() => Sections(stream));
        Assert.True(allocated < Fixed + (4L * n), $"{allocated:N0} bytes allocated for a {n:N0}-byte body");
    }

    [Fact]
    public void ABombIsStoppedByTheCancellationToken()
    {
        string inner = "{\"vmsd_name\":\"x\",\"version\":1,\"fields\":[" + Field("b", "uint8", 1) + "]}";
        byte[] stream = DeviceWith(new byte[4 << 20], Field("s", "struct", 1, 4 << 20, inner));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Sections(stream, new QemuStreamReaderOptions { CancellationToken = cts.Token }));
    }

    [Fact]
    public void ABombInsideAXenImagesEmulatorContextIsBoundedToo()
    {
        byte[] bomb = DeviceWith(new byte[16], Enumerable.Repeat(ZeroSizeBomb, 8).ToArray());
        using var dir = new TempDir();
        string image = dir.File("bomb.xlsave", ImageBuilder.Build(new ImageSpec { EmulatorState = bomb }));
        long allocated = Allocated(() =>
        {
            foreach (QemuImage q in QemuImage.OpenFile(image))
            {
                using (q)
                {
                    while (q.Reader.ReadNext() is not null)
                    {
                    }
                }
            }
        });
        Assert.True(allocated < Fixed + (4L * new FileInfo(image).Length), $"{allocated:N0} bytes allocated");

        var r = PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", image));
        r.AssertNoErrors();
        Assert.Single(r.Objects<QemuSection>());
        Assert.True(PsHost.Run("Test-XenStream -LiteralPath $p", ("p", image)).Objects<bool>().Single());
    }

    [Fact]
    public void AHugeDescriptionIsParsedInASmallMultipleOfItsSize()
    {
        // About 15 MiB of tiny JSON objects, just under the 16 MiB cap.
        const int count = 15 * 1024 * 1024 / 3;
        var json = new System.Text.StringBuilder(count * 3 + 64);
        json.Append("{\"page_size\":4096,\"devices\":[");
        for (int i = 0; i < count; i++)
        {
            json.Append(i == 0 ? "{}" : ",{}");
        }

        json.Append("]}");
        byte[] stream = new QemuStreamBuilder().Full("dev", 0, 1, new byte[4]).Build(json.ToString());
        QemuImage? image = null;
        long allocated = Allocated(() => Sections(new MemoryStream(stream), null, out image));
        using (image)
        {
            // No more per character than QEMU's own descriptions cost (QemuDescriptionCostTests): the
            // text (as bytes and as UTF-16), the values, and the garbage of growing lists. It was 2.9 GB.
            Assert.True(allocated < Fixed + (QemuDescriptionCostTests.BytesPerChar * stream.Length), $"{allocated:N0} bytes allocated for a {stream.Length:N0}-byte description");
        }
    }

    [Fact]
    public void ADescriptionOverTheCapIsRefusedBeforeItIsRead()
    {
        byte[] head = new QemuStreamBuilder().Build();
        // EOF, then a description declaring 60 MiB of which only a few bytes follow.
        byte[] stream = [.. head, 0x06, 0x03, 0xC0, 0x00, 0x00, .. "{\"devices\":["u8];
        var e = Assert.ThrowsAny<XenFormatException>(() => Sections(new MemoryStream(stream), null, out _));
        Assert.Equal(XenErrorIds.InvalidRecord, e.ErrorId);
        Assert.Equal(head.Length, e.Offset);
        Assert.Contains("VM description", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheConverterCopiesAHugeDescriptionWithoutParsingIt()
    {
        var json = new System.Text.StringBuilder("{\"devices\":[");
        for (int i = 0; i < 2_000_000; i++)
        {
            json.Append(i == 0 ? "{}" : ",{}");
        }

        json.Append("]}");
        byte[] qemu = new QemuStreamBuilder().Full("dev", 0, 1, new byte[4]).Build(json.ToString());
        using var dir = new TempDir();
        string input = dir.File("in.legacy", LegacyImages.Build(new LegacySpec { GuestType = XenGuestType.Hvm, QemuState = qemu }));
        string output = dir.Combine("out.save");
        long allocated = Allocated(() => ImageConversion.ConvertLegacyFile(input, output, new Legacy.LegacyConversionOptions { GuestType = XenGuestType.Hvm }, new FileIO.CommitOptions()));
        // The 1 MiB copy buffer and the verifier's buffers, not a parse of a 6 MB description (which costs tens of MB).
        Assert.True(allocated < Fixed + qemu.Length, $"{allocated:N0} bytes allocated for a {qemu.Length:N0}-byte device-model record");
        Assert.True(File.Exists(output));
    }

    [Fact]
    public async Task ManyEmptyBlockListsAfterManyBlocksAreLinear()
    {
        // 4096 RAM blocks, then 1000 empty block-list records, then a 256 MiB request: once cost
        // 150 s (every block list re-mapped the whole request). A hang guard, not a speed test.
        var blocks = Enumerable.Range(0, 4096).Select(i => ($"b{i}", 0x1000UL)).ToArray();
        var b = new QemuStreamBuilder().RamStart(blocks);
        b.RamChunk(r =>
        {
            for (int i = 0; i < 1000; i++)
            {
                r.BlockList();
            }
        }, end: true);
        byte[] stream = b.Build();
        Assert.True(stream.Length < 100_000);
        using var dir = new TempDir();
        string path = dir.File("blocks.qevm", stream);
        PsResult result = await Task.Run(() => PsHost.Run("Get-QemuMemory -LiteralPath $p -Address 0 -Length 256MB", ("p", path))).WaitAsync(TimeSpan.FromSeconds(60));
        result.AssertNoErrors();
        QemuMemoryRange range = Assert.Single(result.Objects<QemuMemoryRange>());
        Assert.Equal(256L << 20, range.MissingBytes);   // the blocks have no guest-physical address
    }

    [Fact]
    public void AMillionEmptyBlockListsAreReadInBoundedMemory()
    {
        var b = new QemuStreamBuilder().RamStart(("pc.ram", 0x2000));
        b.RamChunk(r =>
        {
            for (int i = 0; i < 1_000_000; i++)
            {
                r.BlockList();
            }
        }, end: true);
        byte[] stream = b.Build();
        List<QemuSection> sections = [];
        long allocated = Allocated(() => sections = Sections(stream, new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.ram", 0, 0x2000) }));
        Assert.True(allocated < Fixed, $"{allocated:N0} bytes allocated for {stream.Length:N0} bytes of block lists");
        Assert.NotNull(sections[^1].Ram);
    }

    [Fact]
    public void DecompressionStopsSoonAfterCancellation()
    {
        // A gzip libvirt image whose RAM expands to 256 MiB: cancelled after 1 MiB of compressed input
        // is read, the reader must stop within the next few MiB of input, not at the section's end.
        var b = new QemuStreamBuilder().RamStart(("pc.ram", 256UL << 20));
        byte[] random = new byte[4096];
        new Random(18).NextBytes(random);
        b.RamChunk(r =>
        {
            for (ulong page = 0; page < 65536; page++)
            {
                r.RamPage(page == 0 ? "pc.ram" : null, page << 12, random);
            }
        }, end: true);
        byte[] raw = b.Build();
        byte[] image = LibvirtGzip(raw);
        using var cts = new CancellationTokenSource();
        var counting = new CountingStream(new MemoryStream(image), 1 << 20, cts.Cancel);
        Assert.ThrowsAny<OperationCanceledException>(() => Sections(counting, new QemuStreamReaderOptions { CancellationToken = cts.Token }, out _));
        Assert.True(counting.Position < (8L << 20), $"read {counting.Position:N0} of {image.Length:N0} bytes after the cancel at 1 MiB");
    }

    [Fact]
    public void HugeBlocksCannotAliasPcRam()
    {
        // A 2^60-byte block with a page at 2^56 once read back as pc.ram page 0 (keys were block << 44 | page).
        byte[] page = Repeat(0xEE, 4096);
        var b = new QemuStreamBuilder().RamStart(("pc.ram", 0x2000), ("huge", 1UL << 60));
        b.RamChunk(r => r.RamPage("huge", 1UL << 56, page), end: true);
        List<QemuSection> _ = Sections(b.Build(), new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.ram", 0, 0x1000) });
        using QemuImage image = QemuImage.Open(new MemoryStream(b.Build()), options: new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.ram", 0, 0x1000) });
        while (image.Reader.ReadNext() is not null)
        {
        }

        QemuMemoryRange m = image.Reader.ReadMemory();
        Assert.Equal(0x1000, m.MissingBytes);
        Assert.DoesNotContain((byte)0xEE, m.ToArray());
    }

    [Fact]
    public void SizesThatOverflowArePerFileErrorsWithAnOffsetAndTheNextFileIsRead()
    {
        // 32,768 fields of 2^24 elements of 2^24 bytes (each within the caps): their sum passes 2^63.
        string huge = Field("f", "buffer", 1L << 24, 1L << 24);
        byte[] stream = DeviceWith(new byte[16], Enumerable.Repeat(huge, 32768).ToArray());
        using var dir = new TempDir();
        string bad = dir.File("a-overflow.qevm", stream);
        string good = dir.File("b-good.qevm", File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-devices.qevm")));
        var r = PsHost.Run("Get-QemuDeviceState -LiteralPath $a, $b", ("a", bad), ("b", good));
        ErrorRecord e = Assert.Single(r.Errors);
        Assert.EndsWith("," + DeviceState, e.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.IsAssignableFrom<XenFormatException>(e.Exception);
        Assert.Contains("offset", e.Exception.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotEmpty(r.Objects<QemuSection>());
    }

    [SkippableFact]
    public async Task AFifoIsOpenedOnceAndReadLikeTheFile()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs");
        using var dir = new TempDir();
        string fixture = QemuFixtures.PathOf("pc-7.2-stopped.qevm");
        string fifo = dir.Combine("in.fifo");
        Process.Start("mkfifo", [fifo])!.WaitForExit();
        var writer = Task.Run(() => File.WriteAllBytes(fifo, File.ReadAllBytes(fixture)));
        PsResult result = await Task.Run(() => PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", fifo))).WaitAsync(TimeSpan.FromSeconds(60));
        await writer.WaitAsync(TimeSpan.FromSeconds(10));   // the writer is read to its end (no SIGPIPE)
        result.AssertNoErrors();
        var fromFile = PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", fixture)).Objects<QemuSection>().Select(s => s.ToString()).ToList();
        Assert.Equal(fromFile, result.Objects<QemuSection>().Select(s => s.ToString()).ToList());
    }

    [SkippableFact]
    public async Task TheEmulatorContextOfAXenImageReadThroughAFifoIsOpened()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs");
        using var dir = new TempDir();
        string save = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        string fifo = dir.Combine("in.fifo");
        Process.Start("mkfifo", [fifo])!.WaitForExit();
        var writer = Task.Run(() => File.WriteAllBytes(fifo, File.ReadAllBytes(save)));
        PsResult result = await Task.Run(() => PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", fifo))).WaitAsync(TimeSpan.FromSeconds(60));
        await writer.WaitAsync(TimeSpan.FromSeconds(10));
        result.AssertNoErrors();
        Assert.Equal(
            PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", save)).Objects<QemuSection>().Count(),
            result.Objects<QemuSection>().Count());
    }

    [Fact]
    public void ADamagedDescriptionIsSetAsideAndTheSectionsAreStillRead()
    {
        byte[] stream = File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-stopped.qevm"));
        int json = LastIndexOf(stream, "{\"page_size\""u8);
        Assert.True(json > 0);
        stream[json + 20] = (byte)'\u0001';   // one bad byte inside the JSON
        List<QemuSection> expected = Sections(File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-stopped.qevm")));
        List<QemuSection> sections = Sections(new MemoryStream(stream), null, out QemuImage image);
        using (image)
        {
            Assert.Equal(expected.Select(s => s.IdStr), sections.Select(s => s.IdStr));
            Assert.Contains("damaged", image.Reader.DescriptionProblem, StringComparison.Ordinal);
            Assert.Contains(sections, s => s.DecodedFrom == QemuDecodeSource.BuiltIn);
        }

        using var dir = new TempDir();
        string path = dir.File("damaged.qevm", stream);
        var r = PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", path));
        r.AssertNoErrors();
        Assert.Equal(expected.Count, r.Objects<QemuSection>().Count());
        Assert.Contains(r.Warnings, w => w.Message.Contains("damaged", StringComparison.Ordinal));
        var m = PsHost.Run("Get-QemuMemory -LiteralPath $p -Address 0 -Length 4096", ("p", path));
        m.AssertNoErrors();
        Assert.Single(m.Objects<QemuMemoryRange>());
    }

    private static int LastIndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().LastIndexOf(needle);

    [Theory]
    [InlineData("checksum")]
    [InlineData("garbage")]
    [InlineData("long")]
    public void DamagedCompressedPagesAreErrors(string damage)
    {
        byte[] page = Repeat(0x5A, 4096);
        byte[] zlib = damage switch
        {
            "checksum" => Flip(Zlib(page), ^1),
            "garbage" => [.. Zlib(page), 1, 2, 3],
            _ => Zlib(Repeat(0x5A, 8192)),
        };
        var b = new QemuStreamBuilder().RamStart(("pc.ram", 0x2000));
        b.RamChunk(r => r.CompressedPage("pc.ram", 0, zlib), end: true);
        var e = Assert.ThrowsAny<XenFormatException>(() => Sections(b.Build(), new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.ram", 0, 0x1000) }));
        Assert.True(e.Offset > 0, "the error names the page's offset");
    }

    private static byte[] Flip(byte[] bytes, Index at)
    {
        bytes[at] ^= 0xFF;
        return bytes;
    }

    [Theory]
    [InlineData("cut-trailer")]
    [InlineData("bad-crc")]
    [InlineData("appended-garbage")]
    public void DamagedGzipImagesAreCorruptCompressedData(string damage)
    {
        byte[] raw = File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-stopped.qevm"));
        byte[] image = LibvirtGzip(raw);
        image = damage switch
        {
            "cut-trailer" => image[..^4],
            "bad-crc" => Flip(image, ^8),
            _ => [.. image, 0x1F, 0x8B, 0, 0, 9, 9],
        };
        var e = Assert.ThrowsAny<XenFormatException>(() => Sections(new MemoryStream(image), null, out _));
        Assert.Equal(XenErrorIds.CorruptCompressedData, e.ErrorId);
    }

    [Fact]
    public void TheLastByteOfTheAddressSpaceIsAddressableAndBeyondItIsAddressOutOfRange()
    {
        string path = QemuFixtures.PathOf("pc-7.2-stopped.qevm");
        var last = PsHost.Run("Get-QemuMemory -LiteralPath $p -Address ([ulong]::MaxValue) -Length 1", ("p", path));
        last.AssertNoErrors();
        Assert.Equal(1, Assert.Single(last.Objects<QemuMemoryRange>()).Length);

        var page = PsHost.Run("Get-QemuMemory -LiteralPath $p -Address 0xFFFFFFFFFFFFF000 -Length 4096", ("p", path));
        page.AssertNoErrors();

        var beyond = PsHost.Run("Get-QemuMemory -LiteralPath $p -Address ([ulong]::MaxValue) -Length 2", ("p", path));
        Assert.StartsWith("AddressOutOfRange,", Assert.Single(beyond.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);

        var offset = PsHost.Run("Get-QemuMemory -LiteralPath $p -BlockName pc.ram -Offset 0xFFFFFFFFFFFFFF00 -Length 4096", ("p", path));
        Assert.StartsWith("AddressOutOfRange,", Assert.Single(offset.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);

        var negative = PsHost.Run("Get-QemuMemory -LiteralPath $p -Address -16 -Length 16", ("p", path));
        negative.AssertNoErrors();
        // Typed as PowerShell reads 0xfffffff0 (an Int32 -16): the reset vector below 4 GiB.
        Assert.Equal(0xFFFFFFF0UL, Assert.Single(negative.Objects<QemuMemoryRange>()).Address);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AShortQevmPrefixIsATruncation(int length)
    {
        var e = Assert.ThrowsAny<XenFormatException>(() => QemuImage.Open(new MemoryStream("QEVM"u8[..length].ToArray())));
        Assert.Equal(XenErrorIds.UnexpectedEndOfStream, e.ErrorId);
        Assert.DoesNotContain("not a QEMU stream", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACutDescriptionIsATruncationAtItsOffset()
    {
        byte[] stream = File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-stopped.qevm"));
        int json = LastIndexOf(stream, "{\"page_size\""u8);
        var e = Assert.ThrowsAny<XenFormatException>(() => Sections(new MemoryStream(stream[..(json + 100)]), null, out _));
        Assert.Equal(XenErrorIds.UnexpectedEndOfStream, e.ErrorId);
        Assert.Equal(json - 5, e.Offset);
    }

    [Fact]
    public void ABadLibvirtCookieOffsetIsNamedAtItsField()
    {
        byte[] image = File.ReadAllBytes(QemuFixtures.PathOf("libvirt-pc-7.2.save"));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(32), 0x7FFFFFFF);
        var e = Assert.ThrowsAny<XenFormatException>(() => QemuImage.Open(new MemoryStream(image)));
        Assert.Equal(32, e.Offset);
        Assert.DoesNotContain("not a QEMU stream", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A libvirt save image (header and XML of the committed fixture) whose stream is <paramref name="raw"/>, gzip-compressed.</summary>
    internal static byte[] LibvirtGzip(byte[] raw)
    {
        byte[] fixture = File.ReadAllBytes(QemuFixtures.PathOf("libvirt-pc-7.2-gzip.save"));
        long offset;
        using (QemuImage image = QemuImage.Open(new MemoryStream(fixture)))
        {
            offset = image.Libvirt!.StreamOffset;
        }

        using var ms = new MemoryStream();
        ms.Write(fixture, 0, (int)offset);
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(raw);
        }

        return ms.ToArray();
    }

    /// <summary>Calls <c>onThreshold</c> once reads pass a byte count.</summary>
    private sealed class CountingStream(Stream inner, long threshold, Action onThreshold) : Stream
    {
        private bool _fired;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            Position += n;
            if (!_fired && Position >= threshold)
            {
                _fired = true;
                onThreshold();
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>What parsing QEMU's own descriptions costs: the yardstick for hostile ones.</summary>
public class QemuDescriptionCostTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Bytes allocated per character of description, text included (real ones measure 6.6-6.7).</summary>
    public const long BytesPerChar = 10;

    [Theory]
    [InlineData("pc-7.2-stopped.qevm")]
    [InlineData("q35-7.2-stopped.qevm")]
    [InlineData("pc-7.2-live.qevm")]
    public void RealDescriptionsCostWellUnderTheBudget(string name)
    {
        using QemuImage image = QemuImage.Open(File.OpenRead(QemuFixtures.PathOf(name)));
        while (image.Reader.ReadNext() is not null)
        {
        }

        string json = image.Reader.DescriptionJson!;
        long before = GC.GetAllocatedBytesForCurrentThread();
        QemuVmDescription.Parse(json);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{name}: {json.Length:N0} chars, {allocated:N0} bytes ({(double)allocated / json.Length:F2} per char)");
        Assert.True(allocated < BytesPerChar * json.Length, $"{allocated:N0} bytes for {json.Length:N0} characters");
    }
}
