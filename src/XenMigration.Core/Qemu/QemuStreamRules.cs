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
        public static void Check(Stream blob, long length, IIssueSink issues)
        {
            if (length == 0)
            {
                // QEMU's qemu_loadvm_state reads the magic first and fails on an empty stream.
                issues.Report(XenIssueCodes.EmulatorContextMalformed, 0, "the device-model state is empty; QEMU refuses to load it (no QEVM header)");
                return;
            }

            try
            {
                using var reader = new QemuStreamReader(blob, leaveOpen: true);
                int sections = 0;
                while (reader.ReadNext() is not null)
                {
                    sections++;
                }

                if (reader.StopReason is string why)
                {
                    // A walk that stops at the first section with the stream ending inside it is a cut
                    // stream, which QEMU refuses; a later stop is a layout this module cannot delimit.
                    if (sections <= 1 && reader.EndsInsideStoppedSection)
                    {
                        issues.Report(XenIssueCodes.EmulatorContextMalformed, reader.StoppedAt ?? 0, "the QEMU stream is cut inside its first section (there is no EOF record after it): " + why);
                    }
                    else if (issues.Describe(XenIssueCodes.EmulatorContextUnwalkable))
                    {
                        issues.Report(XenIssueCodes.EmulatorContextUnwalkable, reader.StoppedAt ?? 0, why);
                    }
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
