using XenMigration.TestSupport;
using XenMigration.XenStream;
using XenMigration.Records;

namespace XenMigration.Tests.Core;

public class SampleFilesTests
{
    public static TheoryData<string> Names() => new(SampleFiles.All.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void CommittedSampleMatchesItsDefinitionAndReads(string name)
    {
        string path = Path.Combine(Fixtures.Samples, name);
        byte[] expected = SampleFiles.All[name]();
        if (Environment.GetEnvironmentVariable("XENMIGRATION_UPDATE_SAMPLES") == "1")
        {
            File.WriteAllBytes(path, expected);
        }

        Assert.True(File.Exists(path), path + " is missing (run the tests with XENMIGRATION_UPDATE_SAMPLES=1)");
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(path)), name + " differs from its definition in tests/Support/SampleFiles.cs");
        var records = ReaderHelpers.ReadAll(expected);
        Assert.Equal(XenRecordType.End, records[^1].Type);
    }

    public static TheoryData<string> LegacyNames() => new(LegacyFixtures.All.Keys);

    [Theory]
    [MemberData(nameof(LegacyNames))]
    public void CommittedLegacyFixtureMatchesItsDefinition(string name)
    {
        string path = LegacyFixtures.PathOf(name);
        byte[] expected = LegacyImages.Build(LegacyFixtures.All[name]);
        if (Environment.GetEnvironmentVariable("XENMIGRATION_UPDATE_SAMPLES") == "1")
        {
            Directory.CreateDirectory(LegacyFixtures.Folder);
            File.WriteAllBytes(path, expected);
        }

        Assert.True(File.Exists(path), path + " is missing (run the tests with XENMIGRATION_UPDATE_SAMPLES=1)");
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(path)), name + " differs from its definition in tests/Support/LegacyFixtures.cs");
    }
}
