using System.Management.Automation;
using XenMigration.Images;
using XenMigration.Libvirt;
using XenMigration.Qemu;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the sections of QEMU migration streams, with each device's decoded fields.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QemuDeviceState", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-QemuDeviceState.md")]
    [OutputType(typeof(QemuSection), typeof(QemuConfigurationRecord), typeof(QemuCommandRecord), typeof(LibvirtSaveHeader))]
    public sealed class GetQemuDeviceStateCommand : QemuInputCmdlet
    {
        private WildcardPattern[]? _patterns;

        /// <summary>Only sections whose IdStr matches one of these (wildcards allowed) are written.</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [Alias("IdStr")]
        public string[]? Name { get; set; }

        /// <summary>
        /// Write the stream's headers instead of its sections: the libvirt save header (domain XML),
        /// the configuration record (machine type, capabilities) and any COMMAND records.
        /// </summary>
        [Parameter]
        public SwitchParameter Header { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Name is not null)
            {
                _patterns = System.Array.ConvertAll(Name, n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant));
            }
        }

        private protected override void ProcessImage(QemuImage image, ProgressReporter progress, string target)
        {
            if (Header && image.Libvirt is LibvirtSaveHeader header)
            {
                WriteObject(header);
            }

            ReadAll(image, progress, target, record =>
            {
                bool wanted = record is QemuSection s
                    ? !Header && (_patterns is null || Matches(s.IdStr))
                    : Header;
                if (wanted)
                {
                    WriteObject(record);
                }
            });
        }

        private bool Matches(string idstr)
        {
            foreach (WildcardPattern p in _patterns!)
            {
                if (p.IsMatch(idstr))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
