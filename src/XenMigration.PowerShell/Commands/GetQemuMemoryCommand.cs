using System;
using System.Globalization;
using System.Management.Automation;
using XenMigration.Qemu;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads guest memory from QEMU migration streams, or lists their RAM blocks.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QemuMemory", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(QemuMemoryRange), typeof(QemuRamBlock))]
    public sealed class GetQemuMemoryCommand : QemuInputCmdlet
    {
        /// <summary>Guest-physical address of the first byte to read.</summary>
        [Parameter]
        public ulong? Address { get; set; }

        /// <summary>Read from this RAM block (e.g. pc.ram, vga.vram) at -Offset instead of a guest-physical address.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BlockName { get; set; }

        /// <summary>Offset in -BlockName.</summary>
        [Parameter]
        public ulong Offset { get; set; }

        /// <summary>Bytes to read (at most 256 MiB); 4096 by default.</summary>
        [Parameter]
        [ValidateRange(1, QemuMemoryRequest.MaxLength)]
        public int Length { get; set; } = 4096;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Address is not null && BlockName is not null)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("Give -Address (guest-physical) or -BlockName with -Offset (block-relative), not both."), "AddressAndBlockName", ErrorCategory.InvalidArgument, null));
            }

            if (BlockName is null && MyInvocation.BoundParameters.ContainsKey(nameof(Offset)))
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("-Offset is an offset in the RAM block named by -BlockName; for a guest-physical address use -Address."), "OffsetWithoutBlockName", ErrorCategory.InvalidArgument, null));
            }

            if (Address is ulong a && a > ulong.MaxValue - (ulong)Length)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentOutOfRangeException(nameof(Address), "The range passes the end of the 64-bit address space."), "AddressOutOfRange", ErrorCategory.InvalidArgument, a));
            }
        }

        private protected override QemuStreamReaderOptions NewOptions() => new QemuStreamReaderOptions
        {
            Memory = BlockName is string block ? QemuMemoryRequest.InBlock(block, Offset, Length)
                : Address is ulong address ? QemuMemoryRequest.Physical(address, Length)
                : null,
        };

        private protected override void ProcessImage(QemuImage image, ProgressReporter progress, string target)
        {
            ReadAll(image, progress, target, _ => { });
            if (Address is null && BlockName is null)
            {
                foreach (QemuRamBlock block in image.Reader.RamBlocks)
                {
                    WriteObject(block);
                }

                return;
            }

            QemuMemoryRange range = image.Reader.ReadMemory();
            if (image.Reader.RamBlocks.Count == 0)
            {
                WriteWarning(target + ": the stream has no RAM section (device state only, as in a Xen EMULATOR_CONTEXT): there is no guest memory in it.");
            }
            else if (range.MissingBytes > 0)
            {
                WriteWarning(string.Format(CultureInfo.InvariantCulture, "{0}: {1} of the {2} bytes are in no page the stream sent{3}; they read as zero.", target, range.MissingBytes, range.Length, BlockName is null ? " or at no address a RAM block is known to occupy (read other blocks with -BlockName)" : string.Empty));
            }

            WriteObject(range);
        }
    }
}
