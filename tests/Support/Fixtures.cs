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

    /// <summary>
    /// pwsh.dll of the tool manifest's PowerShell, to run as "dotnet pwsh.dll" in one process ("dotnet
    /// pwsh" runs it as a child of the CLI, which then receives the signals a test sends).
    /// </summary>
    public static string PwshDll
    {
        get
        {
            string manifest = File.ReadAllText(Path.Combine(RepoRoot, ".config", "dotnet-tools.json"));
            string version = System.Text.Json.JsonDocument.Parse(manifest).RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString()!;
            string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            string tools = Path.Combine(packages, "powershell", version, "tools");
            return Directory.GetFiles(tools, "pwsh.dll", SearchOption.AllDirectories).OrderBy(f => f.Contains($"{Path.DirectorySeparatorChar}unix{Path.DirectorySeparatorChar}", StringComparison.Ordinal) == OperatingSystem.IsWindows()).First();
        }
    }
}
