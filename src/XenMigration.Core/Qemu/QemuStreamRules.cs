using System.Globalization;
using System.IO;
using XenMigration.Rules;

namespace XenMigration.Qemu
{
    /// <summary>
    /// Checks that an embedded device-model blob (a Xen EMULATOR_CONTEXT body) is a well-formed QEMU
    /// stream: walked to its EOF record with every section delimited. A function from blob to
    /// issues, for the stream verifier.
    /// </summary>
    internal static class QemuStreamRules
    {
        public static void Check(Stream blob, IIssueSink issues)
        {
            try
            {
                using var reader = new QemuStreamReader(blob, leaveOpen: true);
                int sections = 0;
                while (reader.ReadNext() is not null)
                {
                    sections++;
                }

                if (reader.StopReason is string why && issues.Describe(XenIssueCodes.EmulatorContextUnwalkable))
                {
                    issues.Report(XenIssueCodes.EmulatorContextUnwalkable, reader.StoppedAt ?? 0, why);
                }
                else if (reader.TrailingBytes is long extra && extra > 0 && issues.Describe(XenIssueCodes.EmulatorContextMalformed))
                {
                    issues.Report(XenIssueCodes.EmulatorContextMalformed, reader.Position, string.Format(CultureInfo.InvariantCulture, "{0} bytes follow the QEMU stream's EOF record (after {1} sections)", extra, sections));
                }
            }
            catch (XenFormatException e)
            {
                if (issues.Describe(XenIssueCodes.EmulatorContextMalformed))
                {
                    issues.Report(XenIssueCodes.EmulatorContextMalformed, e.Offset, "the device-model state is not a well-formed QEMU stream: " + e.Message);
                }
            }
        }
    }
}
