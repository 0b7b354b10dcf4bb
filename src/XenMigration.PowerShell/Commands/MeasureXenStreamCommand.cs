using System.Management.Automation;
using XenMigration.Inspection;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Measures how a live migration went: passes over memory, pages sent and resent per pass, bytes per record type.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Measure, "XenStream", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Measure-XenStream.md")]
    [OutputType(typeof(XenStreamPass), typeof(XenStreamMeasurement))]
    public sealed class MeasureXenStreamCommand : InputFileCmdlet
    {
        /// <summary>Write one summary object per image instead of one object per pass.</summary>
        [Parameter]
        public SwitchParameter Summary { get; set; }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            RunInput(path, 0x584D4553, _ =>
            {
                var (passes, summary) = StreamMeasure.Measure(path, Stopped);
                if (Summary)
                {
                    WriteObject(summary);
                }
                else
                {
                    WriteObject(passes, enumerateCollection: true);
                }
            });
        }
    }
}
