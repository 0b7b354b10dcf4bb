using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Records;

namespace XenMigration.Tests.Core;

public class PayloadAndSeekTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OpenPayloadStreamsTheCurrentRecordsPageContents(bool seekable)
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, Pages = 24, BatchSize = 8, XtabEvery = 0 });
        Stream input = new MemoryStream(data);
        if (!seekable)
        {
            input = new NonSeekableStream(input, 1000);
        }

        using var reader = new XenStreamReader(input);
        int batch = 0;
        XenStreamRecord? r;
        while ((r = reader.ReadNext()) is not null)
        {
            if (r is PageDataRecord page)
            {
                using Stream payload = page.OpenPayload();
                Assert.Equal(8 * 4096, payload.Length);
                var copy = new MemoryStream();
                payload.CopyTo(copy, 3000);
                byte[] expected = Enumerable.Range(batch * 8, 8).SelectMany(p => ImageBuilder.Page((ulong)p, 0)).ToArray();
                Assert.Equal(expected, copy.ToArray());
                batch++;
            }
            else if (r is EmulatorContextRecord ctx)
            {
                using Stream payload = ctx.OpenPayload();
                var copy = new MemoryStream();
                payload.CopyTo(copy);
                Assert.Equal(SampleConfig.FakeQemuState, copy.ToArray());
            }
        }

        Assert.Equal(3, batch);
    }

    [Fact]
    public void PayloadStreamsExpireWhenTheReaderMovesOn()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 8, BatchSize = 4 });
        using var reader = new XenStreamReader(new MemoryStream(data));
        XenStreamRecord? r;
        while ((r = reader.ReadNext()) is not PageDataRecord) { }
        var first = (PageDataRecord)r!;
        Stream payload = first.OpenPayload();
        var buffer = new byte[100];
        Assert.Equal(100, payload.Read(buffer, 0, 100));
        Assert.Throws<InvalidOperationException>(() => first.OpenPayload());

        var second = Assert.IsType<PageDataRecord>(reader.ReadNext());
        Assert.Throws<EndOfStreamException>(() => payload.Read(buffer, 0, 100));
        Assert.Throws<InvalidOperationException>(() => first.OpenPayload());

        // A partly read payload does not disturb the records after it.
        Assert.Equal(4u, second.PfnCount);
        Assert.Equal(4ul, second.FirstPfn);
        Assert.Same(Stream.Null, Assert.IsType<TscInfoRecord>(reader.ReadNext()).OpenPayload());
    }

    [Fact]
    public void ReaderDisposesTheStreamUnlessAskedToLeaveItOpen()
    {
        byte[] data = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 1 });
        var open = new MemoryStream(data);
        using (var reader = new XenStreamReader(open, leaveOpen: true))
        {
            reader.ReadNext();
        }

        Assert.True(open.CanRead);
        var closed = new MemoryStream(data);
        var r2 = new XenStreamReader(closed);
        r2.Dispose();
        Assert.False(closed.CanRead);
        Assert.Throws<ObjectDisposedException>(() => r2.ReadNext());
    }

    [Fact]
    public void GigabyteStreamOfFullBatchesIsReadWithoutReadingPagePayloads()
    {
        var image = new SyntheticImage(recordCount: 256, pagesPerRecord: 1024);
        Assert.True(image.Length > 1L << 30);
        using var counting = new CountingStream(image.Open());
        using var reader = new XenStreamReader(counting, leaveOpen: true);
        long records = 0, pages = 0;
        XenStreamRecord? r;
        while ((r = reader.ReadNext()) is not null)
        {
            records++;
            if (r is PageDataRecord p)
            {
                pages += p.DataPageCount;
                Assert.Equal(1024, p.Frames.Count);
            }
        }

        Assert.Equal(image.TotalRecords, records);
        Assert.Equal(256 * 1024, pages);
        // 256 seeks; each lands on a header and reads a few KiB of it: well under 1% of the file.
        Assert.True(counting.BytesRead < image.Length / 100, $"read {counting.BytesRead} of {image.Length} bytes");
        Assert.Equal(counting.BytesRead, reader.BytesFetched);
        Assert.True(counting.Seeks >= 256);
        Assert.Equal(image.Length, reader.Position);
        Assert.Equal(0, reader.TrailingBytes);
    }

    [Fact]
    public void OffsetsBeyondFourGigabytesAreExact()
    {
        // 5 GiB of full batches: offsets past 2^32 must not wrap.
        var image = new SyntheticImage(recordCount: 5 * 262_144 / 1024, pagesPerRecord: 1024);
        using var reader = new XenStreamReader(image.Open());
        PageDataRecord? last = null;
        XenStreamRecord? r;
        while ((r = reader.ReadNext()) is not null)
        {
            last = r as PageDataRecord ?? last;
        }

        Assert.NotNull(last);
        Assert.Equal(image.PrefixLength + ((image.RecordCount - 1) * image.RecordSize), last!.Offset);
        Assert.True(last.Offset > uint.MaxValue);
        Assert.Equal((ulong)((image.RecordCount - 1) * 1024), last.FirstPfn);
        Assert.Equal(last.Offset + 16 + 8192, last.PageDataOffset);
    }
}
