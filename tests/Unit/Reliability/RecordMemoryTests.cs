using System.Buffers.Binary;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.XenStream;
using XenMigration.Records;
using XenMigration.Rules;

namespace XenMigration.Tests.Reliability;

/// <summary>
/// Records at Xen's 128 MiB limit whose bodies decode into many entries: reading and verifying them
/// allocates a bounded amount (the body streams past), on files and on pipes. Before, a 128 MiB
/// EMULATOR_XENSTORE_DATA of NULs became 67 million pairs (3.7 GB).
/// </summary>
public class RecordMemoryTests
{
    private const int Body = (128 << 20) - 64;

    // A stream: prefix bytes, then a record header announcing Body bytes, then the body made of
    // one repeated pattern (after an optional body prefix), then an END record.
    private static Stream Generate(byte[] prefix, uint type, byte[] bodyPrefix, byte[] pattern, byte[] suffix, bool seekable)
    {
        byte[] head = [.. prefix, .. new ByteBuilder().U32(type).U32(Body).ToArray(), .. bodyPrefix];
        long bodyEnd = prefix.Length + 8L + Body;
        long length = bodyEnd + suffix.Length;
        Stream s = new GeneratedStream(length, (pos, buf, off, n) =>
        {
            for (int i = 0; i < n; i++)
            {
                long p = pos + i;
                buf[off + i] = p < head.Length ? head[p]
                    : p < bodyEnd ? pattern[(p - head.Length) % pattern.Length]
                    : suffix[p - bodyEnd];
            }

            return n;
        });
        return seekable ? s : new NonSeekableStream(s, 1 << 16);
    }

    private static readonly byte[] s_libxc = [.. LibxcFormat.EncodeImageHeader(3, 0), .. DomainHeader(), .. Record(LibxcFormat.StaticDataEnd)];

    private static byte[] DomainHeader() => new ByteBuilder().U32((uint)XenGuestType.Hvm).U16(12).U16(0).U32(4).U32(19).ToArray();

    private static byte[] Record(uint type) => new ByteBuilder().U32(type).U32(0).ToArray();

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (string c in new[] { "xenstore NULs", "pfns", "params", "msrs", "hvm context descriptors", "hvm context msrs" })
        {
            data.Add(c, true);
            data.Add(c, false);
        }

        return data;
    }

    private static Stream Build(string name, bool seekable) => name switch
    {
        "xenstore NULs" => Generate([.. LibxlFormat.EncodeHeader(0)], LibxlFormat.EmulatorXenstoreData, new ByteBuilder().U32(2).U32(0).ToArray(), [0], Record(LibxlFormat.End), seekable),
        "pfns" => Generate(s_libxc, LibxcFormat.PageData, new ByteBuilder().U32((Body - 8) / 8).U32(0).ToArray(), new ByteBuilder().U64(0xFUL << 60).ToArray(), Record(LibxcFormat.End), seekable),
        "params" => Generate(s_libxc, LibxcFormat.HvmParams, new ByteBuilder().U32((Body - 8) / 16).U32(0).ToArray(), new ByteBuilder().U64(99).U64(1).ToArray(), Record(LibxcFormat.End), seekable),
        "msrs" => Generate(s_libxc, LibxcFormat.X86MsrPolicy, [], new ByteBuilder().U32(0x10).U32(1).U64(0).ToArray(), Record(LibxcFormat.End), seekable),
        // One CPU_MSR entry of 8M MSRs (issue 18: peaked at 696 MB), after the context's header entry.
        "hvm context msrs" => Generate(s_libxc, LibxcFormat.HvmContext, new ByteBuilder().U16(1).U16(0).U32(24).U32(0x54381286).U32(1).Zeros(16).U16(20).U16(0).U32(Body - 40).U32((Body - 48) / 16).U32(0).ToArray(), new ByteBuilder().U32(0x10).U32(0).U64(0).ToArray(), Record(LibxcFormat.End), seekable),
        _ => Generate(s_libxc, LibxcFormat.HvmContext, new ByteBuilder().U16(1).U16(0).U32(24).U32(0x54381286).U32(1).Zeros(16).ToArray(), new ByteBuilder().U16(2).U16(7).U32(0).ToArray(), Record(LibxcFormat.End), seekable),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A128MiBRecordIsReadAndVerifiedInBoundedMemory(string name, bool seekable)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        using (var reader = new XenStreamReader(Build(name, seekable)))
        {
            while (reader.ReadNext() is XenStreamRecord r)
            {
                if (r is PageDataRecord or HvmParamsRecord or MsrPolicyRecord or EmulatorXenstoreDataRecord)
                {
                    Assert.True(r.EntriesTruncated);
                }

                if (name == "hvm context msrs" && r.Type == XenRecordType.HvmContext)
                {
                    // Decoded one entry at a time: the MSR entry keeps its first 65,536 MSRs.
                    var msrs = XenMigration.HvmContext.HvmContextDecoder.DecodeRecord(r).OfType<XenMigration.HvmContext.HvmCpuMsrEntry>().Single();
                    Assert.True(msrs.MsrsTruncated);
                    Assert.Equal(65536, msrs.Msrs.Count);
                }
            }
        }

        var result = XenStreamVerifier.Verify(Build(name, seekable));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Entries beyond those kept are still checked.
        string expected = name switch
        {
            "xenstore NULs" => XenIssueCodes.XenstoreKey,
            "pfns" => XenIssueCodes.PageDataEmpty,
            "params" => XenIssueCodes.HvmParamUnknown,
            "msrs" => XenIssueCodes.ReservedField,
            "hvm context msrs" => XenIssueCodes.HvmMsrRefused,
            _ => XenIssueCodes.HvmContextDuplicate,
        };
        if (name != "pfns")
        {
            Assert.Contains(result.Issues, i => i.Code == expected);
        }

        // Every entry is counted, kept or not: the counts are exact.
        long expectedCount = name switch
        {
            "xenstore NULs" => (Body - 8) / 2,      // one empty key per pair
            "params" => (Body - 8) / 16,
            "msrs" => Body / 16,
            _ => 0,
        };
        Assert.True(result.ErrorCount + result.WarningCount >= expectedCount, $"{name}: {result.ErrorCount} errors, {result.WarningCount} warnings, expected at least {expectedCount}");

        // Reading and verifying 2 x 128 MiB; the kept entries are a few MB (pairs and params are objects).
        Assert.True(allocated < 160L << 20, $"{name}: allocated {allocated >> 20} MiB");
    }
}
