using System;
using System.Globalization;
using System.Management.Automation;
using XenMigration.Images;
using XenMigration.Qemu;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads guest memory from QEMU migration streams, or lists their RAM blocks.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QemuMemory", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-QemuMemory.md")]
    [OutputType(typeof(QemuMemoryRange), typeof(QemuRamBlock))]
    public sealed class GetQemuMemoryCommand : QemuInputCmdlet
    {
        /// <summary>Guest-physical address of the first byte to read.</summary>
        [Parameter]
        [AddressTransformation]
        public ulong Address { get; set; }

        private bool HasAddress => MyInvocation.BoundParameters.ContainsKey(nameof(Address));

        /// <summary>Read from this RAM block (e.g. pc.ram, vga.vram) at -Offset instead of a guest-physical address.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BlockName { get; set; }

        /// <summary>Offset in -BlockName.</summary>
        [Parameter]
        [AddressTransformation]
        public ulong Offset { get; set; }

        /// <summary>Bytes to read (at most 256 MiB); 4096 by default.</summary>
        [Parameter]
        [ValidateRange(1, QemuMemoryRequest.MaxLength)]
        public int Length { get; set; } = 4096;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (HasAddress && BlockName is not null)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("Give -Address (guest-physical) or -BlockName with -Offset (block-relative), not both."), "AddressAndBlockName", ErrorCategory.InvalidArgument, null));
            }

            if (BlockName is null && MyInvocation.BoundParameters.ContainsKey(nameof(Offset)))
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("-Offset is an offset in the RAM block named by -BlockName; for a guest-physical address use -Address."), "OffsetWithoutBlockName", ErrorCategory.InvalidArgument, null));
            }

            // The last byte of the range is Address + Length - 1, which may be the last byte of the
            // 64-bit space; one past it may not.
            ulong start = HasAddress ? Address : Offset;
            if (start > ulong.MaxValue - (ulong)(Length - 1))
            {
                string name = HasAddress ? nameof(Address) : nameof(Offset);
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentOutOfRangeException(name, string.Format(CultureInfo.InvariantCulture, "-{0} 0x{1:x} with -Length {2} passes the end of the 64-bit address space.", name, start, Length)), "AddressOutOfRange", ErrorCategory.InvalidArgument, start));
            }
        }

        private protected override QemuStreamReaderOptions NewOptions() => new QemuStreamReaderOptions
        {
            Memory = BlockName is string block ? QemuMemoryRequest.InBlock(block, Offset, Length)
                : HasAddress ? QemuMemoryRequest.Physical(Address, Length)
                : null,
        };

        private protected override void ProcessImage(QemuImage image, ProgressReporter progress, string target)
        {
            ReadAll(image, progress, target, _ => { });
            if (!HasAddress && BlockName is null)
            {
                foreach (QemuRamBlock block in image.Reader.RamBlocks)
                {
                    WriteObject(block);
                }

                return;
            }

            QemuMemoryRange range = image.Reader.ReadMemory();
            if (BlockName is string name && image.Reader.RamBlocks.Count > 0 && !HasBlock(image, name))
            {
                var names = new System.Collections.Generic.List<string>();
                foreach (QemuRamBlock b in image.Reader.RamBlocks)
                {
                    names.Add(b.Name);
                }

                WriteError(ErrorRecords.Create(new ItemNotFoundException("The stream has no RAM block '" + name + "'; its blocks are: " + string.Join(", ", names) + "."), "NoSuchRamBlock", ErrorCategory.ObjectNotFound, target));
                return;
            }

            if (image.Reader.RamBlocks.Count == 0)
            {
                WriteWarning(target + (image.Container is QemuContainer.XenEmulatorContext or QemuContainer.XenDeviceModelRecord
                    ? ": this is the device model's state of a Xen guest, which holds no guest memory: Xen keeps it in the image's PAGE_DATA records. Read it with Get-XenMemory, or write it out with Export-GuestMemory."
                    : ": the stream has no RAM section (device state only): there is no guest memory in it."));
            }
            else if (range.MissingBytes > 0)
            {
                WriteWarning(string.Format(CultureInfo.InvariantCulture, "{0}: {1} of the {2} bytes are in no page the stream sent{3}; they read as zero.", target, range.MissingBytes, range.Length, BlockName is null ? " or at no address a RAM block is known to occupy (read other blocks with -BlockName)" : string.Empty));
            }

            WriteObject(range);
        }

        private static bool HasBlock(QemuImage image, string name)
        {
            foreach (QemuRamBlock b in image.Reader.RamBlocks)
            {
                if (b.Name == name)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
