using XenMigration.TestSupport;
using XenMigration.Verification;
using XenMigration.Xl;
using XenMigration.Rules;

namespace XenMigration.Tests.Reliability;

/// <summary>Text scanning of values taken from the file stays linear in their length.</summary>
public class HostileTextTests
{
    // An xl config of 1 MiB of newlines made the max_vcpus pattern quadratic (more than 60 s).
    // The work is run on a task with a generous bound only to turn a hang into a failure.
    [Theory]
    [InlineData("\n", false)]
    [InlineData("\r\n", false)]
    [InlineData(" \n\t", true)]
    public async Task HugeWhitespaceConfigIsScannedInLinearTime(string unit, bool json)
    {
        string filler = string.Concat(Enumerable.Repeat(unit, (1 << 20) / unit.Length));
        string config = json ? "{" + filler + "\"max_vcpus\"" + filler + ":" + filler + "1}" : filler + "maxvcpus = 1\n";
        byte[] image = ImageBuilder.Build(new ImageSpec
        {
            Config = config,
            XlFlags = json ? XlMandatoryFlags.Json | XlMandatoryFlags.StreamV2 : XlMandatoryFlags.StreamV2,
            Vcpus = 2,
        });

        var task = Task.Run(() => XenStreamVerifier.Verify(new MemoryStream(image)));
        var result = await task.WaitAsync(TimeSpan.FromSeconds(30));   // a TimeoutException means the scan is not linear

        // The scan still works: max_vcpus 1 makes vCPU 1's HVM context entries an error.
        Assert.Contains(result.Issues, i => i.Code == XenIssueCodes.VcpuId);
    }
}
