using System.Collections.Generic;
using System.Management.Automation;
using XenMigration.Images;
using XenMigration.Qemu;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets the x86 vCPU registers saved in QEMU migration streams.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QemuCpuState", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-QemuCpuState.md")]
    [OutputType(typeof(QemuCpuState))]
    public sealed class GetQemuCpuStateCommand : QemuInputCmdlet
    {
        private protected override void ProcessImage(QemuImage image, ProgressReporter progress, string target)
        {
            var sections = new List<QemuSection>();
            ReadAll(image, progress, target, record =>
            {
                if (record is QemuSection s && QemuCpuState.IsCpuSection(s))
                {
                    sections.Add(s);
                }
            });

            foreach (QemuCpuState cpu in QemuCpuState.FromSections(sections))
            {
                WriteObject(cpu);
            }

            bool underXen = image.Container is QemuContainer.XenEmulatorContext or QemuContainer.XenDeviceModelRecord;
            if (underXen && sections.Exists(s => s.IdStr == "cpu"))
            {
                // QEMU creates (and xen-save-devices-state saves) a cpu section per vCPU even under Xen,
                // but those vCPUs never run: their registers are QEMU's reset state, not the guest's.
                WriteWarning(target + ": under Xen, QEMU's vCPUs never run: these cpu sections hold QEMU's reset state (real mode at 0xfffffff0), not the guest's registers, which are in the HVM context (Get-XenHvmContext -TypeCode Cpu).");
            }

            if (!sections.Exists(s => s.IdStr == "cpu"))
            {
                WriteWarning(target + (image.Container == QemuContainer.XenEmulatorContext
                    ? ": the QEMU state has no cpu section: under Xen the vCPUs are Xen's, and their registers are in the HVM context (Get-XenHvmContext -TypeCode Cpu)."
                    : ": the stream has no cpu section."));
            }
            else if (!sections.Exists(s => s.IdStr == "cpu" && s.State is not null))
            {
                WriteWarning(target + ": the stream's cpu sections could not be decoded (no description, and not a layout the built-in table knows).");
            }
        }
    }
}
