using XenMigration.Libxc;

namespace XenMigration.TestSupport;

/// <summary>
/// The legacy (Xen 4.5 and older) images committed in tests/fixtures/legacy: their contents are
/// defined here and a unit test keeps the files equal to them (XENMIGRATION_UPDATE_SAMPLES=1
/// rewrites them). Xen's convert-legacy-stream is run on these files by the oracle tests, and the
/// Pester suite converts them.
/// </summary>
public static class LegacyFixtures
{
    public static string Folder => Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "legacy");

    public static IReadOnlyDictionary<string, LegacySpec> All { get; } = new Dictionary<string, LegacySpec>
    {
        ["pv64-w64.legacy"] = new() { GuestType = XenGuestType.Pv, Width = 64, GuestWidth = 8 },
        ["pv32-w32.legacy"] = new() { GuestType = XenGuestType.Pv, Width = 32, GuestWidth = 4 },
        ["pv32-w64.legacy"] = new() { GuestType = XenGuestType.Pv, Width = 64, GuestWidth = 4 },
        ["pv64-sparse-vcpus.legacy"] = new() { GuestType = XenGuestType.Pv, Width = 64, GuestWidth = 8, OnlineVcpus = [0, 2, 5] },
        ["hvm-w64.legacy"] = new() { GuestType = XenGuestType.Hvm, Width = 64 },
        ["hvm-w32.legacy"] = new() { GuestType = XenGuestType.Hvm, Width = 32, GuestWidth = 4 },
        ["hvm-xl.legacy"] = new() { GuestType = XenGuestType.Hvm, Width = 64, XlHeader = true },
        ["pv-xl.legacy"] = new() { GuestType = XenGuestType.Pv, Width = 64, GuestWidth = 8, XlHeader = true },
        ["hvm-filler-batch.legacy"] = new() { GuestType = XenGuestType.Hvm, Width = 64, FillerOnlyBatch = true },
    };

    public static string PathOf(string name) => Path.Combine(Folder, name);
}
