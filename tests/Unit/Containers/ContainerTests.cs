using System.Text;
using XenMigration.Images;
using XenMigration.Inspection;
using XenMigration.Libvirt;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.Rules;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.XenServer;
using XenMigration.XenStream;

namespace XenMigration.Tests.Containers;

/// <summary>The wrappers saved guests live in (issue 22): XenServer/XCP-ng suspend images and libvirt libxl saves.</summary>
public class ContainerTests
{
    private static List<XenStreamRecord> Records(byte[] image, bool seekable = true)
    {
        Stream s = new MemoryStream(image);
        if (!seekable)
        {
            s = new NonSeekableStream(s, 4096);
        }

        using var reader = new XenStreamReader(s);
        var list = new List<XenStreamRecord>();
        while (reader.ReadNext() is XenStreamRecord r)
        {
            list.Add(r);
        }

        return list;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AXenServerSuspendImageIsReadRecordByRecord(bool seekable)
    {
        List<XenStreamRecord> records = Records(ContainerImages.XenServerHvm(), seekable);
        Assert.IsType<XenServerSignatureRecord>(records[0]);
        var ops = Assert.IsType<XenopsRecord>(records[1]);
        Assert.Equal(("win2019", "3b2e0d8f-6a5c-4e1b-9f7d-2c4a8e6b1d05", "HVM", 4L << 30, 2, 64), (ops.VmName, ops.VmUuid, ops.VmType, ops.MemoryStaticMax, ops.VcpuMax, ops.WordSize));
        Assert.Equal("20261204T10:15:02Z", ops.Time);
        Assert.Equal(XenServerRecordKind.Libxc, Assert.IsType<XenServerRecord>(records[2]).Kind);
        Assert.Equal(XenRecordType.ImageHeader, records[3].Type);
        Assert.Contains(records, r => r.Type == XenRecordType.HvmContext);
        var qemu = records.OfType<XenServerRecord>().Single(r => r.Kind == XenServerRecordKind.QemuXen);
        Assert.Equal(new FileInfo(Fixtures.QemuDevicesState).Length, qemu.PayloadLength);
        Assert.Equal(XenServerRecordKind.EndOfImage, ((XenServerRecord)records[^1]).Kind);
    }

    [Fact]
    public void TheVerifierAcceptsAGoodImageAndAppliesXenopsdsRules()
    {
        var good = XenStreamVerifier.Verify(new MemoryStream(ContainerImages.XenServerHvm()));
        Assert.True(good.IsValid, string.Join("; ", good.Issues));
        Assert.Equal(DetectedFormat.XenServerSuspend, good.Format);

        var target = XenStreamVerifier.Verify(new MemoryStream(ContainerImages.XenServerHvm(ContainerImages.XenopsRecord(staticMax: 2L << 30, dynamicMax: 4L << 30))));
        Assert.Equal(XenIssueCodes.XenServerMemoryTarget, Assert.Single(target.Issues, i => i.Severity == XenIssueSeverity.Error).Code);

        byte[] libxc = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 8, BatchSize = 8, Config = null, EmulatorState = null, XenstoreData = false });
        byte[] misordered = ContainerImages.XenServer((0x00F0, null, libxc), (0x000F, Encoding.UTF8.GetBytes(ContainerImages.XenopsRecord()), null), (0xFFFF, null, null));
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(misordered)).Issues, i => i.Code == XenIssueCodes.XenServerRecordOrder);

        byte[] bigTrad = ContainerImages.XenServer((0x000F, Encoding.UTF8.GetBytes(ContainerImages.XenopsRecord()), null), (0x00F0, null, libxc), (0x0F00, new byte[(1 << 20) + 1], null), (0xFFFF, null, null));
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(bigTrad)).Issues, i => i.Code == XenIssueCodes.XenServerQemuTooLarge);
    }

    [Fact]
    public void HostileXenServerImagesAreCleanErrors()
    {
        byte[] good = ContainerImages.XenServerHvm();
        for (int cut = 0; cut < good.Length; cut += Math.Max(1, good.Length / 300))
        {
            var r = XenStreamVerifier.Verify(new MemoryStream(good[..cut]));
            Assert.False(r.IsValid);
        }

        // An unknown record type, a Qemu record claiming 2^63 bytes, a missing End_of_image.
        byte[] unknown = ContainerImages.XenServer((0x1234, Array.Empty<byte>(), null));
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(unknown)).Issues, i => i.Code == XenErrorIds.InvalidHeader);
        byte[] huge = Encoding.ASCII.GetBytes("XenSavedDomv2-\n").Concat(BitConverter.GetBytes(0x0F01UL)).Concat(BitConverter.GetBytes(long.MaxValue)).ToArray();
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(huge)).Issues, i => i.Code == XenErrorIds.RecordTooLarge);
        byte[] xenopsHuge = Encoding.ASCII.GetBytes("XenSavedDomv2-\n").Concat(BitConverter.GetBytes(0x000FUL)).Concat(BitConverter.GetBytes(1UL << 40)).ToArray();
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(xenopsHuge)).Issues, i => i.Code == XenErrorIds.RecordTooLarge);
        // A nested wrapper: a suspend image inside the Libxc record is not a libxc stream.
        byte[] nested = ContainerImages.XenServer((0x000F, Encoding.UTF8.GetBytes(ContainerImages.XenopsRecord()), null), (0x00F0, null, good));
        Assert.False(XenStreamVerifier.Verify(new MemoryStream(nested)).IsValid);
        // A Xenops record that is not an S-expression is read, not parsed.
        var garbage = Assert.IsType<XenopsRecord>(Records(ContainerImages.XenServerHvm(xenops: "((((("))[1]);
        Assert.Null(garbage.VmName);
    }

    [Fact]
    public void TheCmdletsOpenXenServerImages()
    {
        using var dir = new TempDir();
        string path = dir.File("vm.xensave", ContainerImages.XenServerHvm());
        var records = PsHost.Run("Get-XenStreamRecord -LiteralPath $p", ("p", path));
        records.AssertNoErrors();
        Assert.Equal(XenRecordType.XenServerSignature, records.Objects<XenStreamRecord>().First().Type);
        Assert.True(PsHost.Run("Test-XenStream -LiteralPath $p", ("p", path)).Objects<bool>().Single());
        var sections = PsHost.Run("Get-QemuDeviceState -LiteralPath $p", ("p", path));
        sections.AssertNoErrors();
        Assert.Contains(sections.Objects<QemuSection>(), s => s.IdStr == "hpet");

        // The Qemu_xen record piped in is read as an EMULATOR_CONTEXT is.
        var piped = PsHost.Run("Get-XenStreamRecord -LiteralPath $p | Where-Object Kind -eq QemuXen | Get-QemuDeviceState -Name hpet", ("p", path));
        piped.AssertNoErrors();
        Assert.Equal("hpet", Assert.Single(piped.Objects<QemuSection>()).IdStr);
        var info = PsHost.Run("Get-XenSaveInfo -LiteralPath $p", ("p", path)).Objects<XenSaveInfo>().Single();
        Assert.Equal(("win2019", "3b2e0d8f-6a5c-4e1b-9f7d-2c4a8e6b1d05", 4096L, 2), (info.Name, info.Uuid, info.MemoryMiB, info.Vcpus));
        Assert.Contains(PsHost.Run("Get-XenHvmContext -LiteralPath $p -TypeCode Cpu", ("p", path)).Objects<XenMigration.HvmContext.HvmCpuEntry>(), c => c.Instance == 1);
        Assert.NotEmpty(PsHost.Run("Get-XenMemory -LiteralPath $p", ("p", path)).Objects<XenMigration.Memory.GuestMemoryRun>());
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(2u)]
    public void ALibvirtLibxlSaveIsOpened(uint version)
    {
        byte[] image = ContainerImages.LibvirtLibxl(ContainerImages.LibvirtXml, version);
        List<XenStreamRecord> records = Records(image);
        var header = Assert.IsType<LibvirtLibxlHeaderRecord>(records[0]);
        Assert.Equal(version, header.Version);
        Assert.Contains("<name>guest42</name>", header.Xml, StringComparison.Ordinal);
        Assert.Equal(XenRecordType.LibxlHeader, records[1].Type);
        var result = XenStreamVerifier.Verify(new MemoryStream(image));
        Assert.True(result.IsValid, string.Join("; ", result.Issues));

        using var dir = new TempDir();
        string path = dir.File("guest42.save", image);
        var info = PsHost.Run("Get-XenSaveInfo -LiteralPath $p", ("p", path)).Objects<XenSaveInfo>().Single();
        Assert.Equal(("guest42", "Hvm", 1024L, "Xml"), (info.Name, info.GuestType, info.MemoryMiB, info.ConfigFormat));
        Assert.IsType<System.Xml.XmlDocument>(info.Config);

        byte[] badVersion = (byte[])image.Clone();
        badVersion[16] = 9;
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(badVersion)).Issues, i => i.Code == XenErrorIds.UnsupportedVersion);
        byte[] hugeXml = (byte[])image.Clone();
        BitConverter.GetBytes(0x7FFFFFFFu).CopyTo(hugeXml, 20);
        Assert.Contains(XenStreamVerifier.Verify(new MemoryStream(hugeXml)).Issues, i => i.Code == XenErrorIds.RecordTooLarge);
    }
}
