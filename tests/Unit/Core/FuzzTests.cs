using XenMigration.Framing;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.XenStream;
using XenMigration.Xenstore;

namespace XenMigration.Tests.Core;

/// <summary>
/// Seeded random mutations of valid inputs: every reader, the verifier and the converter must end
/// either normally or with a format error (truncation included), never with another exception.
/// </summary>
public class FuzzTests
{
    private const int Rounds = 1500;

    // Mutations land mostly on the structure (the first bytes of every record, given as hot
    // offsets), where they matter, and sometimes anywhere.
    private static IEnumerable<byte[]> Mutants(byte[] seed, int rounds, int salt, IReadOnlyList<long>? hot = null)
    {
        var random = new Random(12345 + salt);
        for (int i = 0; i < rounds; i++)
        {
            byte[] data = (byte[])seed.Clone();
            int edits = 1 + random.Next(8);
            for (int e = 0; e < edits; e++)
            {
                int at = hot is { Count: > 0 } && random.Next(5) > 0
                    ? (int)Math.Min(data.Length - 1, hot[random.Next(hot.Count)] + random.Next(48))
                    : random.Next(data.Length);
                switch (random.Next(4))
                {
                    case 0: data[at] = (byte)random.Next(256); break;
                    case 1: data[at] ^= (byte)(1 << random.Next(8)); break;
                    case 2: data[at] = 0xFF; break;
                    default: data[at] = 0; break;
                }
            }

            if (random.Next(10) == 0)
            {
                data = data.AsSpan(0, random.Next(data.Length)).ToArray();
            }

            yield return data;
        }
    }

    private static void OnlyFormatErrors(byte[] data, Action<byte[]> action)
    {
        var ex = Record.Exception(() => action(data));
        Assert.True(ex is null || ex is XenFormatException, $"{ex?.GetType().Name}: {ex?.Message}\n{ex?.StackTrace}");
    }

    [Fact]
    public void MutatedImagesOnlyEverGiveFormatErrorsToTheReaderAndVerifier()
    {
        byte[] hvm = ImageBuilder.Build(new ImageSpec { Pages = 6, BatchSize = 3, Vcpus = 1, Checkpoints = 1 });
        byte[] pv = ImageBuilder.Build(new ImageSpec { GuestType = XenGuestType.Pv, Pages = 6, BatchSize = 3, Vcpus = 1, Wrapping = Wrapping.Libxl });
        int salt = 0;
        foreach (byte[] seed in new[] { hvm, pv })
        {
            var hot = ReaderHelpers.ReadAll(seed).Select(r => r.Offset).Concat(ReaderHelpers.ReadAll(seed).Where(r => r.PayloadLength > 0).Select(r => r.PayloadOffset)).ToList();
            foreach (byte[] data in Mutants(seed, Rounds, salt++, hot))
            {
                OnlyFormatErrors(data, d => ReaderHelpers.ReadAll(d));
                OnlyFormatErrors(data, d => ReaderHelpers.ReadAll(d, seekable: false, chunk: 17));
                var result = XenStreamVerifier.Verify(new MemoryStream(data));
                Assert.NotNull(result);
            }
        }
    }

    [Fact]
    public void MutatedLegacyImagesOnlyEverGiveFormatErrorsToTheConverter()
    {
        var specs = new[]
        {
            new LegacySpec { Pages = 4, BatchSize = 2 },
            new LegacySpec { GuestType = XenGuestType.Pv, Pages = 4, BatchSize = 2, Width = 32, GuestWidth = 4 },
            new LegacySpec { XlHeader = true, Pages = 3, BatchSize = 3 },
        };
        int salt = 10;
        foreach (LegacySpec spec in specs)
        {
            foreach (byte[] data in Mutants(LegacyImages.Build(spec), Rounds / 2, salt++))
            {
                foreach (int? width in new int?[] { null, spec.Width })
                {
                    OnlyFormatErrors(data, d => LegacyStreamConverter.Convert(new MemoryStream(d), new MemoryStream(), new LegacyConversionOptions { GuestType = spec.GuestType, Width = width, Format = LegacyOutputFormat.Libxl }));
                }
            }
        }
    }

    [Fact]
    public void MutatedXenstoreDumpsOnlyEverGiveFormatErrors()
    {
        byte[] seed = XenstoreDumps.Write(XenstoreDumps.AllTypes(2));
        var hot = XenstoreDumps.Read(seed).Select(r => Math.Max(0, r.Offset)).ToList();
        foreach (byte[] data in Mutants(seed, Rounds, 20, hot))
        {
            OnlyFormatErrors(data, d => XenstoreDumps.Read(d));
        }
    }
}
