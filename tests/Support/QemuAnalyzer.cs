namespace XenMigration.TestSupport;

/// <summary>
/// QEMU's own stream analyzer, scripts/analyze-migration.py of QEMU 7.2 (the version that made the
/// fixtures), run as the oracle of the field decoding. Debian ships no copy; .ci/run extracts it from
/// the Debian source package (qemu_7.2+dfsg.orig.tar.xz) into the cache below, or
/// QEMU_ANALYZE_MIGRATION names one.
/// </summary>
public static class QemuAnalyzer
{
    public static string Script { get; } = Environment.GetEnvironmentVariable("QEMU_ANALYZE_MIGRATION") is { Length: > 0 } env
        ? env
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "xenmigration", "qemu-7.2.0", "scripts", "analyze-migration.py");

    /// <summary>Null when the analyzer can run; otherwise why not (the skip reason).</summary>
    public static string? Missing { get; } = File.Exists(Script)
        ? null
        : "QEMU's analyze-migration.py (7.2) is not at " + Script + " (.ci/run extracts it from Debian's qemu source package; or set QEMU_ANALYZE_MIGRATION)";

    /// <summary>analyze-migration.py -f file (the default -d state): JSON of every section.</summary>
    public static XenTools.Outcome State(string file) =>
        XenTools.Run("python3", [Script, "-f", file], TimeSpan.FromSeconds(120), pythonPath: null);
}
