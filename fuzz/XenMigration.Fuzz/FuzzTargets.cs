using XenMigration.Framing;
using XenMigration.Legacy;
using XenMigration.HvmContext;
using XenMigration.Libxc;
using XenMigration.Qemu;
using XenMigration.Verification;
using XenMigration.XenStream;
using XenMigration.Xenstore;
using XenMigration.Records;
using XenMigration.Images;
using XenMigration.Memory;

namespace XenMigration.Fuzz;

/// <summary>
/// One target per reader. Each reads the whole input; a format error (XenFormatException,
/// truncation included) is the expected way to refuse bad input, and anything else escaping is a
/// bug that the fuzzer reports as a crash.
/// </summary>
public static class FuzzTargets
{
    public static IReadOnlyDictionary<string, Action<Stream>> All { get; } = new Dictionary<string, Action<Stream>>(StringComparer.OrdinalIgnoreCase)
    {
        // The streaming reader over xl/libxl/libxc images, with the verifier's checks (HVM context walk included).
        ["stream"] = s => Expect(() => XenStreamVerifier.Verify(s, new XenStreamVerifierOptions(), leaveOpen: true), LengthOf(s)),
        // The reader alone, as Get-XenStreamRecord uses it, reading every payload it exposes.
        ["records"] = s => Expect(() =>
        {
            using var reader = new XenStreamReader(s, leaveOpen: true);
            byte[] scratch = new byte[4096];
            while (reader.ReadNext() is XenStreamRecord r)
            {
                if (r.PayloadLength > 0 && r.PayloadLength < 1 << 20)
                {
                    using Stream p = r.OpenPayload();
                    while (p.Read(scratch, 0, scratch.Length) > 0)
                    {
                    }
                }
            }
        }, LengthOf(s)),
        // The legacy converter, both guest types, width detected.
        ["legacy"] = s =>
        {
            var copy = new MemoryStream();
            s.CopyTo(copy);
            foreach (var guest in new[] { XenGuestType.Pv, XenGuestType.Hvm })
            {
                copy.Position = 0;
                Expect(() => LegacyStreamConverter.Convert(copy, Stream.Null, new LegacyConversionOptions { GuestType = guest }), copy.Length);
            }
        },
        // QEMU streams and their containers (libvirt, Xen DeviceModelRecord0002), collecting one page
        // of guest memory so the page paths (zero, raw, zlib, XBZRLE) run too.
        ["qemu"] = s => Expect(() =>
        {
            var options = new QemuStreamReaderOptions { Memory = QemuMemoryRequest.Physical(0, 8192) };
            using QemuImage image = QemuImage.Open(s, leaveOpen: true, options);
            image.Reader.ReadMemory();
        }, LengthOf(s)),
        // An HVM context blob, every entry decoded (the verifier's walk is in "stream").
        ["hvmcontext"] = s => Expect(() =>
        {
            var blob = new MemoryStream();
            s.CopyTo(blob);
            foreach (var entry in HvmContextDecoder.Decode(blob.ToArray()))
            {
                _ = entry.Summary;
            }
        }, LengthOf(s)),
        // Guest memory of a Xen image: the frame index, then an ELF core of it written to memory.
        ["memory"] = s => Expect(() =>
        {
            var copy = new MemoryStream();
            s.CopyTo(copy);
            copy.Position = 0;
            XenMemoryImage image = XenMemoryImage.Scan(copy, null, new XenMemoryOptions());
            foreach (GuestMemoryRun run in image.Runs())
            {
                _ = run.Length;
            }

            using var output = new MemoryStream();
            var writer = new ElfCoreWriter(output);
            GuestMemoryLayout layout = image.Layout();
            if (layout.Ranges.Count == 0 || layout.End > 1UL << 32)
            {
                return;   // an ELF of a sparse 4 GiB+ layout in memory is the test's limit, not the reader's
            }

            writer.Begin(layout);
            byte[] page = new byte[4096];
            foreach (var (pfn, kind) in image.Frames())
            {
                if (kind == GuestMemoryKind.Data && image.ReadPage(pfn, page))
                {
                    writer.Page(pfn << 12, page);
                }
            }

            var state = new GuestMachineState();
            state.Vcpus.AddRange(image.Vcpus);
            writer.End(state);
        }, LengthOf(s)),
        // Xenstore migration dumps.
        ["xenstore"] = s => Expect(() =>
        {
            using var reader = new XenstoreDumpReader(s, leaveOpen: true);
            while (reader.ReadNext() is not null)
            {
            }
        }, LengthOf(s)),
    };

    /// <summary>Memory a read may allocate: fixed buffers plus a small multiple of the input (issue 18).</summary>
    public const long FixedAllocation = 64L << 20, AllocationPerInputByte = 32;

    private static void Expect(Action read, long inputLength = 0)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            read();
        }
        catch (XenFormatException)
        {
            // The documented refusal of bad input.
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > FixedAllocation + (AllocationPerInputByte * inputLength))
        {
            // Memory out of proportion to the input is a finding, like a crash.
            throw new AllocationCapException(string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0:N0} bytes allocated for {1:N0} bytes of input", allocated, inputLength));
        }
    }

    private static long LengthOf(Stream s) => s.CanSeek ? s.Length : 0;
}

/// <summary>A read allocated memory out of proportion to its input: a finding, like a crash.</summary>
public sealed class AllocationCapException(string message) : Exception(message);
