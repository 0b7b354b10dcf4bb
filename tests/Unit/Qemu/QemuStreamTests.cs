using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using XenMigration.Qemu;
using XenMigration.TestSupport;
using XenMigration.Images;
using XenMigration.Libvirt;

namespace XenMigration.Tests.Qemu;

/// <summary>The QEMU reader against real QEMU 7.2 streams and QEMU's own view of the same state.</summary>
public class QemuStreamTests
{
    public static TheoryData<string> Streams() => new(QemuFixtures.Streams);

    // pc-i440fx-2.2 has neither footers nor a description: it is walked with the layouts older machine
    // types give devices (OldMachineTypesAreWalkedWithTheirCompatLayouts), and QEMU's own analyzer cannot read it.
    public static TheoryData<string> CompleteStreams() => new(QemuFixtures.Streams.Where(s => s != "pc-i440fx-2.2-stopped"));

    private static (QemuImage Image, List<QemuRecord> Records) ReadAll(string file, QemuStreamReaderOptions? options = null)
    {
        QemuImage image = QemuImage.OpenFile(file, options).Single();
        var records = new List<QemuRecord>();
        while (image.Reader.ReadNext() is QemuRecord r)
        {
            records.Add(r);
        }

        return (image, records);
    }

    [Theory]
    [MemberData(nameof(CompleteStreams))]
    public void EveryFixtureIsWalkedToItsEnd(string name)
    {
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf(name + ".qevm"));
        using (image)
        {
            Assert.True(image.Reader.IsComplete, image.Reader.StopReason);
            Assert.Null(image.Reader.StopReason);
            Assert.Equal(0, image.Reader.TrailingBytes);
            var sections = records.OfType<QemuSection>().ToList();
            Assert.Contains(sections, s => s.IdStr == "ram" && s.Kind == QemuSectionKind.Start);
            Assert.Contains(sections, s => s.IdStr == "ram" && s.Kind == QemuSectionKind.End);
            Assert.Equal(2, sections.Count(s => s.IdStr == "cpu"));
            Assert.All(sections.Where(s => s.Kind == QemuSectionKind.Full), s => Assert.NotEqual(QemuDecodeSource.None, s.DecodedFrom));

            // Sections tile the stream: each starts where the previous ended.
            for (int i = 1; i < records.Count; i++)
            {
                Assert.Equal(records[i - 1].Offset + records[i - 1].Length, records[i].Offset);
            }
        }
    }

    [Fact]
    public void AModernStreamIsDecodedWithItsOwnDescription()
    {
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf("pc-7.2-stopped.qevm"));
        using (image)
        {
            Assert.True(image.Reader.HasDescription);
            Assert.True(image.Reader.HasFooters);
            var config = Assert.IsType<QemuConfigurationRecord>(records[0]);
            Assert.Equal("pc-i440fx-7.2", config.MachineType);
            Assert.Empty(config.Capabilities);
            var full = records.OfType<QemuSection>().Where(s => s.Kind == QemuSectionKind.Full).ToList();
            Assert.Equal(33, full.Count);   // the 33 devices of the JSON description
            Assert.All(full, s => Assert.Equal(QemuDecodeSource.Description, s.DecodedFrom));
            QemuSection rtc = full.Single(s => s.IdStr == "mc146818rtc");
            Assert.Equal(3u, rtc.VersionId);
            Assert.Equal("cmos_data", rtc.Fields[0].Name);
            Assert.Equal(128, rtc.Fields[0].Size);
            QemuSection cpu = full.First(s => s.IdStr == "cpu");
            Assert.Contains(cpu.Subsections, s => s.Name == "cpu/poll_control_msr");
        }
    }

    [Theory]
    [InlineData("pc-7.2-stopped")]
    [InlineData("pc-7.2-devices")]   // cirrus VGA, e1000, rtl8139, USB tablet, AHCI
    public void TheBuiltInTableDecodesAStreamFromAPipeAsTheDescriptionDoes(string name)
    {
        string file = QemuFixtures.PathOf(name + ".qevm");
        (QemuImage image, List<QemuRecord> withDescription) = ReadAll(file);
        image.Dispose();
        using var pipe = QemuImage.Open(new NonSeekableStream(File.OpenRead(file), 1000));
        Assert.False(pipe.Reader.HasDescription);
        var fromPipe = new List<QemuRecord>();
        while (pipe.Reader.ReadNext() is QemuRecord r)
        {
            fromPipe.Add(r);
        }

        Assert.True(pipe.Reader.HasDescription, "the description is read at the end of a pipe");
        Assert.Equal(withDescription.Count, fromPipe.Count);
        foreach ((QemuSection a, QemuSection b) in withDescription.OfType<QemuSection>().Zip(fromPipe.OfType<QemuSection>()))
        {
            Assert.Equal((a.IdStr, a.InstanceId, a.Offset, a.Length), (b.IdStr, b.InstanceId, b.Offset, b.Length));
            if (a.Kind == QemuSectionKind.Full)
            {
                Assert.Equal(QemuDecodeSource.BuiltIn, b.DecodedFrom);
                Assert.Equal(Flatten(a.State!), Flatten(b.State!));
            }
        }
    }

    private static List<string> Flatten(QemuVmState s)
    {
        var lines = new List<string>();
        foreach (QemuField f in s.Fields)
        {
            lines.Add(string.Format(CultureInfo.InvariantCulture, "{0}[{1}]@{2}={3}", f.Name, f.Index, f.Offset, f.Text));
            if (f.Struct is not null)
            {
                lines.AddRange(Flatten(f.Struct).Select(x => "  " + x));
            }
        }

        foreach (QemuVmState sub in s.Subsections)
        {
            lines.Add("sub " + sub.Name);
            lines.AddRange(Flatten(sub));
        }

        return lines;
    }

    [Theory]
    [InlineData("pc-i440fx-2.2-stopped", false, false)]
    [InlineData("pc-7.2-novmdesc", true, true)]
    public void StreamsWithoutADescriptionAreDecodedWithTheBuiltInTable(string name, bool footers, bool configuration)
    {
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf(name + ".qevm"));
        using (image)
        {
            Assert.False(image.Reader.HasDescription);
            Assert.Equal(footers, image.Reader.HasFooters);
            Assert.Equal(configuration, records[0] is QemuConfigurationRecord);
            var full = records.OfType<QemuSection>().Where(s => s.Kind == QemuSectionKind.Full).ToList();
            Assert.Contains(full, s => s.IdStr == "cpu" && s.DecodedFrom == QemuDecodeSource.BuiltIn);
            Assert.Contains(full, s => s.IdStr == "timer" && s.DecodedFrom == QemuDecodeSource.BuiltIn);
        }
    }

    [Fact]
    public void OldMachineTypesAreWalkedWithTheirCompatLayouts()
    {
        // pc-i440fx-2.2 (Debian's QEMU 7.2 with -machine pc-i440fx-2.2): piix4_pm lacks the SMBus state
        // (hw_compat_2_12) and the ACPI index (hw_compat_6_0) of the 7.2 table; the walk goes on to the end.
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf("pc-i440fx-2.2-stopped.qevm"));
        using (image)
        {
            Assert.True(image.Reader.IsComplete, image.Reader.StopReason);
            var sections = records.OfType<QemuSection>().ToList();
            Assert.All(sections.Where(s => s.Kind == QemuSectionKind.Full), s => Assert.Equal(QemuDecodeSource.BuiltIn, s.DecodedFrom));
            QemuSection pm = sections.Single(s => s.IdStr.EndsWith("piix4_pm", StringComparison.Ordinal));
            Assert.DoesNotContain(pm.Fields, f => f.Name is "smb" or "acpi_pci_hotplug.acpi_index");
            Assert.Equal(2356 + 24, pm.BodyLength);   // the fields, then the 24-byte memhp subsection
            Assert.Contains(pm.Subsections, x => x.Name == "piix4_pm/memhp");
            Assert.Equal("acpi_build", sections[^1].IdStr);
        }

        // A body that no layout fits, in a stream without footers, still stops the walk there and says so.
        byte[] bytes = File.ReadAllBytes(QemuFixtures.PathOf("pc-i440fx-2.2-stopped.qevm"));
        byte[] odd = bytes.Take(0x8243c + 600).Concat(bytes.Skip(0x8243c + 603)).ToArray();
        using QemuImage broken = QemuImage.Open(new MemoryStream(odd));
        var rest = new List<QemuRecord>();
        while (broken.Reader.ReadNext() is QemuRecord r)
        {
            rest.Add(r);
        }

        Assert.False(broken.Reader.IsComplete);
        Assert.Contains("piix4_pm", broken.Reader.StopReason, StringComparison.Ordinal);
        Assert.Contains("no section footers", broken.Reader.StopReason, StringComparison.Ordinal);
        Assert.Equal(QemuDecodeSource.None, ((QemuSection)rest[^1]).DecodedFrom);
    }

    [Fact]
    public void XenDeviceStateWithoutDescriptionIsWalkedToTheEnd()
    {
        using QemuImage image = QemuImage.OpenFile(Fixtures.QemuDevicesState).Single();
        var sections = new List<QemuSection>();
        while (image.Reader.ReadNext() is QemuSection s)
        {
            sections.Add(s);
        }

        Assert.True(image.Reader.IsComplete, image.Reader.StopReason);
        Assert.Equal("timer", sections[0].IdStr);
        Assert.Contains(sections, s => s.IdStr == "hpet" && s.DecodedFrom == QemuDecodeSource.BuiltIn);
        Assert.DoesNotContain(sections, s => s.IdStr == "ram");
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void RegistersEqualWhatQemuReports(string name)
    {
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf(name + ".qevm"));
        image.Dispose();
        IReadOnlyList<QemuCpuState> cpus = QemuCpuState.FromSections(records.OfType<QemuSection>());
        List<Dictionary<string, string>> expected = QemuFixtures.Registers(name);
        Assert.Equal(expected.Count, cpus.Count);
        for (int i = 0; i < cpus.Count; i++)
        {
            QemuCpuState c = cpus[i];
            Dictionary<string, string> e = expected[i];
            Assert.Equal((uint)i, c.Index);
            Assert.Equal(H(e["EAX"]), c.Rax & 0xFFFFFFFF);
            Assert.Equal(H(e["EBX"]), c.Rbx & 0xFFFFFFFF);
            Assert.Equal(H(e["ECX"]), c.Rcx & 0xFFFFFFFF);
            Assert.Equal(H(e["EDX"]), c.Rdx & 0xFFFFFFFF);
            Assert.Equal(H(e["ESP"]), c.Rsp & 0xFFFFFFFF);
            Assert.Equal(H(e["EBP"]), c.Rbp & 0xFFFFFFFF);
            Assert.Equal(H(e["EIP"]), c.Rip);
            Assert.Equal(H(e["EFL"]), c.Rflags);
            Assert.Equal(H(e["CR0"]), c.Cr0);
            Assert.Equal(H(e["CR3"]), c.Cr3);
            Assert.Equal(H(e["CR4"]), c.Cr4);
            Assert.Equal(H(e["EFER"]), c.Efer);
            Assert.Equal(H(e["DR7"]), c.Dr7);
            Assert.Equal(e["HLT"] == "1", c.Halted);
            Assert.Equal(e["A20"] == "1", c.A20);
            Assert.Equal(int.Parse(e["CPL"], CultureInfo.InvariantCulture), c.Cpl);
            Assert.Equal(e["CS"], Seg(c.Cs!));
            Assert.Equal(e["SS"], Seg(c.Ss!));
            Assert.Equal(e["ES"], Seg(c.Es!));
            Assert.Equal(e["TR"], Seg(c.Tr!));
            Assert.Equal(e["GDT"], string.Format(CultureInfo.InvariantCulture, "{0:x8} {1:x8}", c.Gdt!.Base, c.Gdt.Limit));
            Assert.Equal(e["IDT"], string.Format(CultureInfo.InvariantCulture, "{0:x8} {1:x8}", c.Idt!.Base, c.Idt.Limit));
        }
    }

    private static ulong H(string hex) => ulong.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    // info registers shows the descriptor flags masked to bits 8-23 (x86_cpu_dump_seg_cache).
    private static string Seg(XenMigration.X86.X86Segment s) => string.Format(CultureInfo.InvariantCulture, "{0:x4} {1:x8} {2:x8} {3:x8}", s.Selector, s.Base, s.Limit, s.Attributes & 0x00FFFF00);

    [Theory]
    [MemberData(nameof(Streams))]
    public void GuestMemoryEqualsWhatQemuReports(string name)
    {
        foreach ((ulong address, byte[] expected) in QemuFixtures.Memory(name))
        {
            var options = new QemuStreamReaderOptions { Memory = QemuMemoryRequest.Physical(address, expected.Length) };
            using QemuImage image = QemuImage.OpenFile(QemuFixtures.PathOf(name + ".qevm"), options).Single();
            QemuMemoryRange range = image.Reader.ReadMemory();
            Assert.Equal(0, range.MissingBytes);
            Assert.Equal(expected, range.Bytes);
        }
    }

    [Fact]
    public void RamBlocksAreSummarisedOncePerBlock()
    {
        (QemuImage image, _) = ReadAll(QemuFixtures.PathOf("pc-7.2-stopped.qevm"));
        using (image)
        {
            IReadOnlyList<QemuRamBlock> blocks = image.Reader.RamBlocks;
            QemuRamBlock ram = blocks.Single(b => b.Name == "pc.ram");
            Assert.Equal(32L << 20, ram.Length);
            Assert.Equal(0UL, ram.Address);
            Assert.Equal(ram.Length / 4096, ram.PageRecords);
            Assert.Equal(0xFFFC0000UL, blocks.Single(b => b.Name == "pc.bios").Address);
            Assert.Equal(0xC0000UL, blocks.Single(b => b.Name == "pc.rom").Address);
            Assert.All(blocks, b => Assert.Equal(b.Length / 4096, b.PageRecords));
        }
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void GuestPhysicalPlacementMatchesQemusFlatMemoryView(string name)
    {
        (QemuImage image, _) = ReadAll(QemuFixtures.PathOf(name + ".qevm"));
        using (image)
        {
            // `info mtree -f` lines: "start-end (prio n, kind): block [@offset]", for the RAM blocks with an address.
            int checkedRanges = 0;
            foreach (string line in File.ReadLines(QemuFixtures.PathOf(name + ".mtree.txt")))
            {
                var m = System.Text.RegularExpressions.Regex.Match(line, @"^\s+([0-9a-f]{16})-([0-9a-f]{16}) \(prio \d+, (?:ram|rom)\): (pc\.ram|pc\.bios)(?: @([0-9a-f]{16}))?");
                if (!m.Success)
                {
                    continue;
                }

                ulong start = ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                ulong end = ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                long offset = m.Groups[4].Success ? long.Parse(m.Groups[4].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0;
                foreach (ulong gpa in new[] { start, end })
                {
                    (int block, long at) = QemuPages.Locate(image.Reader.RamBlocks, gpa);
                    Assert.True(block >= 0, $"{name}: 0x{gpa:x} is in no block");
                    Assert.Equal(m.Groups[3].Value, image.Reader.RamBlocks[block].Name);
                    Assert.Equal(offset + (long)(gpa - start), at);
                }

                checkedRanges++;
            }

            Assert.True(checkedRanges >= 5, name + ": too few ranges in the mtree dump");
        }
    }

    [Fact]
    public void IgnoreSharedStreamsGiveBlockAddressesThatMatchTheMachineTypeRule()
    {
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf("pc-7.2-ignore-shared.qevm"));
        using (image)
        {
            Assert.Equal(new[] { "x-ignore-shared" }, records.OfType<QemuConfigurationRecord>().Single().Capabilities);
            QemuRamBlock bios = image.Reader.RamBlocks.Single(b => b.Name == "pc.bios");
            Assert.Equal("Stream", bios.AddressSource);
            Assert.Equal(0xFFFC0000UL, bios.Address);
            Assert.Equal(0xC0000UL, image.Reader.RamBlocks.Single(b => b.Name == "pc.rom").Address);
        }
    }

    [Fact]
    public void CompressedPagesAreCountedAndInflated()
    {
        (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf("pc-7.2-compress.qevm"));
        using (image)
        {
            Assert.True(records.OfType<QemuSection>().Sum(s => s.Ram?.CompressedPages ?? 0) > 10);
            Assert.True(image.Reader.RamBlocks.Single(b => b.Name == "pc.ram").CompressedPages > 0);
        }
    }

    [Fact]
    public void BlockRelativeReadsReachBlocksWithoutAnAddress()
    {
        var options = new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.bios", 0x3FE00, 256) };
        using QemuImage image = QemuImage.OpenFile(QemuFixtures.PathOf("pc-7.2-stopped.qevm"), options).Single();
        QemuMemoryRange range = image.Reader.ReadMemory();
        Assert.Equal("pc.bios", range.BlockName);
        byte[] reset = QemuFixtures.Memory("pc-7.2-stopped").Single(m => m.Address == 0xFFFFFE00).Bytes;
        Assert.Equal(reset, range.Bytes);
    }

    [Fact]
    public void LibvirtImagesGiveTheirHeaderAndTheSameSections()
    {
        (QemuImage plain, List<QemuRecord> expected) = ReadAll(QemuFixtures.PathOf("pc-7.2-stopped.qevm"));
        plain.Dispose();
        foreach (string name in new[] { "libvirt-pc-7.2.save", "libvirt-pc-7.2-gzip.save", "libvirt-pc-7.2-bzip2.save", "libvirt-pc-7.2-xz.save", "libvirt-pc-7.2-lzop.save", "libvirt-pc-7.2-zstd.save" })
        {
            (QemuImage image, List<QemuRecord> records) = ReadAll(QemuFixtures.PathOf(name));
            using (image)
            {
                LibvirtSaveHeader h = image.Libvirt!;
                Assert.Equal(QemuContainer.Libvirt, image.Container);
                Assert.Equal(2u, h.Version);
                Assert.True(h.WasRunning);
                Assert.Contains("<name>xm-fixture</name>", h.Xml);
                Assert.StartsWith("<cookie>", h.Cookie);
                Assert.Equal(expected.Count, records.Count);
                if (h.Compression == LibvirtCompression.Raw)
                {
                    Assert.Equal(h.StreamOffset, image.StreamOffset);
                    Assert.Equal(expected[1].Offset + h.StreamOffset, records[1].Offset);
                    Assert.True(image.Reader.HasDescription);
                }
                else
                {
                    // Offsets in the decompressed stream, so every section is where the plain stream has it.
                    Assert.Equal(name.Split('-')[^1].Replace(".save", string.Empty, StringComparison.Ordinal), h.Compression.ToString().ToLowerInvariant());
                    Assert.Equal(expected.Select(r => r.Offset), records.Select(r => r.Offset));
                    Assert.Equal(expected.OfType<QemuSection>().SelectMany(x => x.Fields).Select(f => f.Text), records.OfType<QemuSection>().SelectMany(x => x.Fields).Select(f => f.Text));
                }
            }
        }
    }

    [Fact]
    public void SparseImagesNameTheirFormatAndPartImagesAreRefused()
    {
        // mapped-ram ("sparse", format 6) puts pages at file offsets: not a stream this reader walks.
        byte[] sparse = File.ReadAllBytes(QemuFixtures.PathOf("libvirt-pc-7.2.save"));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(sparse.AsSpan(16 + 12), 6);
        var e6 = Assert.ThrowsAny<XenFormatException>(() => QemuImage.Open(new MemoryStream(sparse)));
        Assert.Equal(XenErrorIds.UnsupportedCompression, e6.ErrorId);
        Assert.Contains("sparse", e6.Message, StringComparison.Ordinal);

        byte[] part = File.ReadAllBytes(QemuFixtures.PathOf("libvirt-pc-7.2.save"));
        "LibvirtQemudPart"u8.CopyTo(part);
        var e = Assert.ThrowsAny<XenFormatException>(() => QemuImage.Open(new MemoryStream(part)));
        Assert.Equal(XenErrorIds.PartialImage, e.ErrorId);
    }

    [Fact]
    public void TheEmulatorContextOfAXenImageIsOpened()
    {
        string save = Path.Combine(Fixtures.Samples, "hvm-domain.xlsave");
        List<QemuImage> images = QemuImage.OpenFile(save).ToList();
        QemuImage image = Assert.Single(images);
        using (image)
        {
            Assert.Equal(QemuContainer.XenEmulatorContext, image.Container);
            QemuRecord first = image.Reader.ReadNext()!;
            Assert.Equal(image.StreamOffset + 8, first.Offset);
            Assert.Equal(save, first.FilePath);
        }
    }

    [Fact]
    public void XenLegacyDeviceModelRecordsAreOpened()
    {
        byte[] state = File.ReadAllBytes(Fixtures.QemuDevicesState);
        byte[] record = "DeviceModelRecord0002"u8.ToArray().Concat(BitConverter.GetBytes((uint)state.Length)).Concat(state).ToArray();
        foreach (Stream s in new Stream[] { new MemoryStream(record), new NonSeekableStream(new MemoryStream(record)) })
        {
            using QemuImage image = QemuImage.Open(s);
            Assert.Equal(QemuContainer.XenDeviceModelRecord, image.Container);
            int n = 0;
            while (image.Reader.ReadNext() is not null)
            {
                n++;
            }

            Assert.True(image.Reader.IsComplete);
            Assert.True(n > 20);
        }
    }

    [Fact]
    public void Version2IsObsoleteAndOtherVersionsUnsupported()
    {
        foreach ((uint version, string text) in new[] { (2u, "obsolete"), (4u, "Unsupported") })
        {
            byte[] head = new byte[9];
            "QEVM"u8.CopyTo(head);
            BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), version);
            using QemuImage image = QemuImage.Open(new MemoryStream(head));
            var e = Assert.ThrowsAny<XenFormatException>(() => image.Reader.ReadNext());
            Assert.Equal(XenErrorIds.UnsupportedVersion, e.ErrorId);
            Assert.Contains(text, e.Message);
        }
    }

    [Fact]
    public void EveryTruncationOfARealStreamIsACleanError()
    {
        byte[] full = File.ReadAllBytes(Fixtures.QemuDevicesState);
        for (int cut = 0; cut < full.Length; cut += 7)
        {
            var e = Assert.ThrowsAny<XenFormatException>(() =>
            {
                using QemuImage image = QemuImage.Open(new MemoryStream(full, 0, cut));
                while (image.Reader.ReadNext() is not null)
                {
                }

                if (!image.Reader.IsComplete)
                {
                    throw new XenFormatException("Stopped", image.Reader.StopReason!, image.Reader.StoppedAt ?? 0);
                }
            });
            Assert.True(e.Offset <= cut, $"cut {cut}: offset {e.Offset}");
        }
    }

    [Fact]
    public void GarbageAndHostileLengthsAreCleanErrors()
    {
        byte[] ram = File.ReadAllBytes(QemuFixtures.PathOf("pc-7.2-novmdesc.qevm"));
        var random = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            byte[] copy = (byte[])ram.Clone();
            int at = 8 + random.Next(Math.Min(copy.Length - 8, 4000));
            copy[at] ^= (byte)(1 + random.Next(255));
            try
            {
                using QemuImage image = QemuImage.Open(new MemoryStream(copy));
                while (image.Reader.ReadNext() is not null)
                {
                }
            }
            catch (XenFormatException)
            {
            }
        }

        // A MEM_SIZE list announcing 2^60 bytes of blocks that never come.
        byte[] hostile = new byte[8 + 1 + 4 + 1 + 3 + 8 + 8 + 8];
        "QEVM"u8.CopyTo(hostile);
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(4), 3);
        hostile[8] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(9), 2);
        hostile[13] = 3;
        "ram"u8.CopyTo(hostile.AsSpan(14));
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(17), 0);
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(21), 4);
        BinaryPrimitives.WriteUInt64BigEndian(hostile.AsSpan(25), (1UL << 60) | 4);
        using QemuImage h = QemuImage.Open(new MemoryStream(hostile));
        var e = Assert.ThrowsAny<XenFormatException>(() => h.Reader.ReadNext());
        Assert.InRange(e.Offset, 25, hostile.Length);
    }

    [Fact]
    public void XbzrleDeltasApplyToThePreviousCopy()
    {
        byte[] page = new byte[4096];
        page.AsSpan().Fill(0xAA);
        // 10 unchanged, 3 new bytes, 4000 unchanged, 2 new bytes
        byte[] delta = { 10, 3, 1, 2, 3, 0xA0, 0x1F, 2, 9, 9 };
        QemuPages.ApplyXbzrle(page, delta, 0);
        Assert.Equal(new byte[] { 0xAA, 1, 2, 3, 0xAA }, page.AsSpan(9, 5).ToArray());
        Assert.Equal(new byte[] { 9, 9 }, page.AsSpan(4013, 2).ToArray());
        Assert.Throws<XenFormatException>(() => QemuPages.ApplyXbzrle(page, new byte[] { 0x80, 0x40, 1, 1 }, 0));
    }
}

/// <summary>RAM records no fixture has (XBZRLE needs many live iterations; MULTIFD_FLUSH QEMU 8.1+), built by hand.</summary>
public class QemuRamRecordTests
{
    private static byte[] RamStream(Action<List<byte>, Action<ulong, int>, Action<string>> body)
    {
        var b = new List<byte>();
        void Be(ulong v, int size)
        {
            for (int i = size - 1; i >= 0; i--)
            {
                b.Add((byte)(v >> (8 * i)));
            }
        }

        void Name(string s)
        {
            b.Add((byte)s.Length);
            b.AddRange(System.Text.Encoding.ASCII.GetBytes(s));
        }

        b.AddRange("QEVM"u8.ToArray());
        Be(3, 4);
        b.Add(1); Be(2, 4); Name("ram"); Be(0, 4); Be(4, 4);
        Be(0x2000 | 0x04, 8); Name("pc.ram"); Be(0x2000, 8); Be(0x10, 8);
        b.Add(3); Be(2, 4);
        body(b, Be, Name);
        Be(0x10, 8);
        b.Add(0);
        return b.ToArray();
    }

    [Fact]
    public void XbzrleAndFlushesAndFillPagesReadAsTheLastCopy()
    {
        byte[] stream = RamStream((b, be, name) =>
        {
            be(0x0000 | 0x08, 8); name("pc.ram"); b.AddRange(Enumerable.Repeat((byte)0x11, 4096));   // page 0: 0x11...
            be(0x1000 | 0x02 | 0x20, 8); b.Add(0x7F);                                                   // page 1: fill 0x7F (ancient QEMU)
            be(0x200, 8);                                                                                // MULTIFD_FLUSH alone
            be(0x0000 | 0x40 | 0x20, 8); b.Add(1); be(4, 2); b.AddRange(new byte[] { 2, 2, 0xAB, 0xCD }); // page 0: bytes 2-3 changed
        });
        var options = new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.ram", 0, 0x2000) };
        using QemuImage image = QemuImage.Open(new MemoryStream(stream), options: options);
        var sections = new List<QemuSection>();
        while (image.Reader.ReadNext() is QemuSection s)
        {
            sections.Add(s);
        }

        QemuRamChunk end = sections[^1].Ram!;
        Assert.Equal((1L, 1L, 1L, 1L, 1L), (end.Pages, end.ZeroPages, end.FillPages, end.XbzrlePages, end.MultifdFlushes));
        QemuMemoryRange m = image.Reader.ReadMemory();
        Assert.Equal(new byte[] { 0x11, 0x11, 0xAB, 0xCD, 0x11 }, m.ToArray()[..5]);
        Assert.All(m.ToArray()[0x1000..], x => Assert.Equal(0x7F, x));
        Assert.Equal(0, m.MissingBytes);

        // A range covering part of a page keeps that page whole, so the delta still applies.
        var partial = new QemuStreamReaderOptions { Memory = QemuMemoryRequest.InBlock("pc.ram", 1, 4) };
        using QemuImage again = QemuImage.Open(new MemoryStream(stream), options: partial);
        Assert.Equal(new byte[] { 0x11, 0xAB, 0xCD, 0x11 }, again.Reader.ReadMemory().Bytes);
    }

    [Theory]
    [InlineData(0x01UL, "obsolete")]
    [InlineData(0x80UL, "RDMA")]
    [InlineData(0x400UL, "unknown RAM record flags")]
    public void FlagsThatCannotBeInAFileAreRefusedWithTheirName(ulong flag, string text)
    {
        byte[] stream = RamStream((b, be, name) => be(flag, 8));
        using QemuImage image = QemuImage.Open(new MemoryStream(stream));
        image.Reader.ReadNext();
        var e = Assert.ThrowsAny<XenFormatException>(() => image.Reader.ReadNext());
        Assert.Contains(text, e.Message);
        Assert.Equal(XenErrorIds.InvalidRecord, e.ErrorId);
    }

    [Fact]
    public void PagesOutsideTheirBlockOrOfUnnamedBlocksAreRefused()
    {
        foreach (Action<List<byte>, Action<ulong, int>, Action<string>> body in new Action<List<byte>, Action<ulong, int>, Action<string>>[]
        {
            (b, be, name) => { be(0x5000 | 0x02, 8); name("pc.ram"); b.Add(0); },
            (b, be, name) => { be(0x0000 | 0x02, 8); name("vga.vram"); b.Add(0); },
            (b, be, name) => { be(0x0000 | 0x02 | 0x20, 8); b.Add(0); },
        })
        {
            using QemuImage image = QemuImage.Open(new MemoryStream(RamStream(body)));
            image.Reader.ReadNext();
            var e = Assert.ThrowsAny<XenFormatException>(() => image.Reader.ReadNext());
            Assert.Equal(XenErrorIds.InvalidRecord, e.ErrorId);
            Assert.Equal(8 + 1 + 4 + 4 + 4 + 4 + 8 + 7 + 8 + 8 + 1 + 4, e.Offset);
        }
    }
}
