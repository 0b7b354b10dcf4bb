namespace XenMigration.TestSupport;

/// <summary>Paths of the repository and its committed fixtures.</summary>
public static class Fixtures
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XenMigration.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("XenMigration.sln not found above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => s_root.Value;

    /// <summary>Real QEMU 7.2 device state from xen-save-devices-state (tests/fixtures/qemu/make-devices-state.sh).</summary>
    public static string QemuDevicesState => Path.Combine(RepoRoot, "tests", "fixtures", "qemu", "pc-i440fx-7.2.devices.qemu");

    /// <summary>The importable module laid out by the build.</summary>
    public static string ModuleManifest => Path.Combine(RepoRoot, "out", "XenMigration", "XenMigration.psd1");

    public static string Samples => Path.Combine(RepoRoot, "samples");
}
