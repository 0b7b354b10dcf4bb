using System.Buffers.Binary;
using XenMigration.Libxc;
using XenMigration.XenStream;

namespace XenMigration.TestSupport;

/// <summary>
/// A libxc v3 HVM stream of any size made of identical PAGE_DATA records, generated on demand:
/// as a <see cref="GeneratedStream"/> (nothing materialised) or written to a file. Used for the
/// GB-scale tests and the benchmarks (1 GiB as 256 x 1024 pages, or 262,144 x 1 page).
/// </summary>
public sealed class SyntheticImage
{
    private readonly byte[] _prefix;
    private readonly byte[] _suffix;

    public SyntheticImage(int recordCount, int pagesPerRecord)
    {
        RecordCount = recordCount;
        PagesPerRecord = pagesPerRecord;
        RecordSize = 16L + (8L * pagesPerRecord) + (4096L * pagesPerRecord);
        _prefix = Build(w =>
        {
            w.WriteImageHeader(3);
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 19);
            w.WriteCpuidPolicy(SampleConfig.CpuidLeaves);
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
        });
        _suffix = Build(w =>
        {
            w.WriteTscInfo(TscMode.Default, 2_400_000, 1, 1);
            w.WriteHvmContext(ImageBuilder.HvmContextBlob(1));
            w.WriteHvmParams(SampleConfig.HvmParams);
            w.WriteEmptyRecord(LibxcFormat.End);
        });
        Length = _prefix.Length + (RecordSize * recordCount) + _suffix.Length;
    }

    public int RecordCount { get; }
    public int PagesPerRecord { get; }
    public long RecordSize { get; }
    public long Length { get; }

    /// <summary>Offset of the first PAGE_DATA record.</summary>
    public long PrefixLength => _prefix.Length;

    /// <summary>Records the reader returns: 4 prefix, the page records, 4 suffix.</summary>
    public long TotalRecords => 4 + RecordCount + 4;

    public GeneratedStream Open() => new(Length, Fill);

    public void WriteTo(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var src = Open();
        src.CopyTo(fs, 4 << 20);
    }

    private int Fill(long position, byte[] buffer, int offset, int count)
    {
        int done = 0;
        while (done < count)
        {
            long pos = position + done;
            int n;
            if (pos < _prefix.Length)
            {
                n = (int)Math.Min(count - done, _prefix.Length - pos);
                Array.Copy(_prefix, pos, buffer, offset + done, n);
            }
            else if (pos < _prefix.Length + (RecordSize * RecordCount))
            {
                long rel = pos - _prefix.Length;
                long index = rel / RecordSize;
                long within = rel % RecordSize;
                long headerSize = 16 + (8L * PagesPerRecord);
                if (within < headerSize)
                {
                    n = (int)Math.Min(count - done, headerSize - within);
                    // Header bytes are produced 8 at a time: pick the word that covers `within`.
                    for (int i = 0; i < n; i++)
                    {
                        long at = within + i;
                        long word = at / 8;
                        ulong value = word switch
                        {
                            0 => LibxcFormat.PageData | ((ulong)(8 + (8 * PagesPerRecord) + (4096 * PagesPerRecord)) << 32),
                            1 => (ulong)(uint)PagesPerRecord,
                            _ => LibxcFormat.EncodePfn((ulong)(index * PagesPerRecord) + (ulong)(word - 2), XenPageType.NoTab),
                        };
                        buffer[offset + done + i] = (byte)(value >> (int)(8 * (at % 8)));
                    }
                }
                else
                {
                    n = (int)Math.Min(count - done, RecordSize - within);
                    buffer.AsSpan(offset + done, n).Fill((byte)(index * 31));
                }
            }
            else
            {
                long rel = pos - _prefix.Length - (RecordSize * RecordCount);
                n = (int)Math.Min(count - done, _suffix.Length - rel);
                Array.Copy(_suffix, rel, buffer, offset + done, n);
            }

            done += n;
        }

        return done;
    }

    private static byte[] Build(Action<XenStreamWriter> write)
    {
        var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            write(w);
        }

        return ms.ToArray();
    }
}
