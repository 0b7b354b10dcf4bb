using XenMigration.Framing;
using XenMigration.Legacy;

namespace XenMigration.TestSupport;

/// <summary>
/// A large legacy (Xen 4.5 and older) HVM image written by a 64-bit toolstack: full 1024-page
/// batches, the end chunk, the HVM tail and a device-model record. For the conversion benchmark.
/// </summary>
public static class SyntheticLegacyImage
{
    public static long Write(string path, int batches)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var head = new ByteBuilder().U64((ulong)batches * LegacyFormat.MaxBatch);
        head.I32((int)LegacyChunk.TscInfo).U32(0).U64(1).U32(2_400_000).U32(1);
        head.I32((int)LegacyChunk.HvmIdentPt).U32(0).U64(0xFEFFB000);
        fs.Write(head.Span);
        byte[] pages = new byte[LegacyFormat.MaxBatch * 4096];
        var pfns = new ByteBuilder(4 + (8 * LegacyFormat.MaxBatch));
        for (int b = 0; b < batches; b++)
        {
            pfns.Clear();
            pfns.I32(LegacyFormat.MaxBatch);
            for (int i = 0; i < LegacyFormat.MaxBatch; i++)
            {
                pfns.U64((ulong)((b * LegacyFormat.MaxBatch) + i));
            }

            fs.Write(pfns.Span);
            Array.Fill(pages, (byte)b);
            fs.Write(pages);
        }

        byte[] ctx = ImageBuilder.HvmContextBlob(1);
        var tail = new ByteBuilder().I32(0).U64(0xFEFFF).U64(0xFEFFE).U64(0xFEFFC).U32((uint)ctx.Length).Bytes(ctx);
        tail.Text(LegacyFormat.QemuSignature, false).U32((uint)SampleConfig.FakeQemuState.Length).Bytes(SampleConfig.FakeQemuState);
        fs.Write(tail.Span);
        return fs.Length;
    }
}
