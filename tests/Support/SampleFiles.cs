using XenMigration.Libxc;

namespace XenMigration.TestSupport;

/// <summary>
/// The images shipped in samples/: their contents are defined here and a unit test keeps the
/// committed files equal to them (set XENMIGRATION_UPDATE_SAMPLES=1 to rewrite them).
/// </summary>
public static class SampleFiles
{
    public static IReadOnlyDictionary<string, Func<byte[]>> All { get; } = new Dictionary<string, Func<byte[]>>
    {
        ["hvm-domain.xlsave"] = () => ImageBuilder.Build(new ImageSpec
        {
            Pages = 64,
            BatchSize = 32,
            Vcpus = 2,
            Config = SampleConfig.HvmJson,
            EmulatorState = File.ReadAllBytes(Fixtures.QemuDevicesState),
        }),
        ["pv-domain.xlsave"] = () => ImageBuilder.Build(new ImageSpec
        {
            GuestType = XenGuestType.Pv,
            GuestWidth = 8,
            Pages = 64,
            BatchSize = 32,
            Vcpus = 2,
            Config = SampleConfig.PvJson,
        }),
        ["remus-checkpointed.libxl"] = () => ImageBuilder.Build(new ImageSpec
        {
            Wrapping = Wrapping.Libxl,
            Pages = 16,
            BatchSize = 16,
            Vcpus = 1,
            Checkpoints = 2,
            EmulatorState = File.ReadAllBytes(Fixtures.QemuDevicesState),
        }),
    };
}
