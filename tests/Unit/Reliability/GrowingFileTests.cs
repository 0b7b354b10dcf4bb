using XenMigration.Framing;
using XenMigration.Tests.PowerShell;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.FileIO;
using XenMigration.Records;

namespace XenMigration.Tests.Reliability;

/// <summary>A file read while it is still being written (an xl save in progress, a copy).</summary>
public class GrowingFileTests
{
    [Fact]
    public void BytesAppendedWhileReadingAreRead()
    {
        using var dir = new TempDir();
        byte[] image = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "pv-domain.xlsave"));
        var all = Core.ReaderHelpers.ReadAll(image);

        // Cut inside the header of a record whose payload is skipped by seeking: once the file has
        // grown past the length seen at open, the skip must not be clamped to that length (it
        // used to go backwards, and the next "record" was read from page contents).
        XenStreamRecord big = all.First(r => r.PayloadLength > 1 << 16);
        int half = (int)big.Offset + 3;
        string path = dir.File("growing.save", image[..half]);

        using var reader = new XenStreamReader(XenFile.OpenRead(path));
        var seen = new List<XenStreamRecord>();
        while (seen.Count < big.Index && reader.ReadNext() is XenStreamRecord r)
        {
            seen.Add(r);
        }

        using (var append = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            append.Write(image, half, image.Length - half);
        }

        while (reader.ReadNext() is XenStreamRecord r)
        {
            seen.Add(r);
        }

        Assert.Equal(all.Select(r => (r.Offset, r.Type)), seen.Select(r => (r.Offset, r.Type)));
    }

    [Fact]
    public void ATruncationIsNeverReportedBeforeTheRecordThatIsCut()
    {
        using var dir = new TempDir();
        byte[] image = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "pv-domain.xlsave"));
        var all = Core.ReaderHelpers.ReadAll(image);
        XenStreamRecord victim = all.First(r => r.Length > 4096);
        string path = dir.File("growing.save", image[..(int)victim.Offset]);

        using var reader = new XenStreamReader(XenFile.OpenRead(path));
        while (reader.ReadNext() is XenStreamRecord r && r.Index < victim.Index - 1)
        {
        }

        // The file grows, but not enough: the record is cut after its header.
        using (var append = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            append.Write(image, (int)victim.Offset, 100);
        }

        var ex = Assert.IsType<XenTruncatedException>(Record.Exception(() => { while (reader.ReadNext() is not null) { } }));
        Assert.True(ex.Offset >= victim.Offset, $"truncation reported at {ex.Offset}, before the record at {victim.Offset}");
        Assert.Equal(victim.Offset + 100, ex.Offset);
    }
}
