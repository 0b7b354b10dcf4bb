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
        ["stream"] = s => Expect(() => XenStreamVerifier.Verify(s, new XenStreamVerifierOptions(), leaveOpen: true)),
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
        }),
        // The legacy converter, both guest types, width detected.
        ["legacy"] = s =>
        {
            var copy = new MemoryStream();
            s.CopyTo(copy);
            foreach (var guest in new[] { XenGuestType.Pv, XenGuestType.Hvm })
            {
                copy.Position = 0;
                Expect(() => LegacyStreamConverter.Convert(copy, Stream.Null, new LegacyConversionOptions { GuestType = guest }));
            }
        },
        // QEMU streams and their containers (libvirt, Xen DeviceModelRecord0002), collecting one page
        // of guest memory so the page paths (zero, raw, zlib, XBZRLE) run too.
        ["qemu"] = s => Expect(() =>
        {
            var options = new QemuStreamReaderOptions { Memory = QemuMemoryRequest.Physical(0, 8192) };
            using QemuImage image = QemuImage.Open(s, leaveOpen: true, options);
            image.Reader.ReadMemory();
        }),
        // An HVM context blob, every entry decoded (the verifier's walk is in "stream").
        ["hvmcontext"] = s => Expect(() =>
        {
            var blob = new MemoryStream();
            s.CopyTo(blob);
            foreach (var entry in HvmContextDecoder.Decode(blob.ToArray()))
            {
                _ = entry.Summary;
            }
        }),
        // Xenstore migration dumps.
        ["xenstore"] = s => Expect(() =>
        {
            using var reader = new XenstoreDumpReader(s, leaveOpen: true);
            while (reader.ReadNext() is not null)
            {
            }
        }),
    };

    private static void Expect(Action read)
    {
        try
        {
            read();
        }
        catch (XenFormatException)
        {
            // The documented refusal of bad input.
        }
    }
}
