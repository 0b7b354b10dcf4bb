using System;
using System.Globalization;
using System.Management.Automation;
using XenMigration.Images;
using XenMigration.Qemu;
using XenMigration.Records;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads guest memory from QEMU migration streams, or lists their RAM blocks.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QemuMemory", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-QemuMemory.md")]
    [OutputType(typeof(QemuMemoryRange), typeof(QemuRamBlock))]
    public sealed class GetQemuMemoryCommand : QemuInputCmdlet
    {
        // Three ways to ask (list the blocks; a guest-physical range; a range of a named block), each
        // from paths, literal paths or records: nine sets, so the syntax shows which go together.
        private const string PathAddressSet = "PathAddress", LiteralPathAddressSet = "LiteralPathAddress", RecordAddressSet = "InputObjectAddress";
        private const string PathBlockSet = "PathBlock", LiteralPathBlockSet = "LiteralPathBlock", RecordBlockSet = "InputObjectBlock";

        /// <summary>Files to read; wildcards are expanded.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathAddressSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathBlockSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public override string[] Path
        {
            get => base.Path;
            set => base.Path = value;
        }

        /// <summary>Files to read, taken exactly as written (no wildcards).</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathAddressSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathBlockSet, ValueFromPipelineByPropertyName = true)]
        [Alias("PSPath", "LP", "FilePath")]
        [ValidateNotNullOrEmpty]
        public override string[] LiteralPath
        {
            get => base.LiteralPath;
            set => base.LiteralPath = value;
        }

        /// <summary>Records from Get-XenStreamRecord whose payload to read.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RecordSet, ValueFromPipeline = true)]
        [Parameter(Mandatory = true, ParameterSetName = RecordAddressSet, ValueFromPipeline = true)]
        [Parameter(Mandatory = true, ParameterSetName = RecordBlockSet, ValueFromPipeline = true)]
        [ValidateNotNull]
        public override XenStreamRecord? InputObject
        {
            get => base.InputObject;
            set => base.InputObject = value;
        }

        /// <summary>Guest-physical address of the first byte to read.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PathAddressSet)]
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathAddressSet)]
        [Parameter(Mandatory = true, ParameterSetName = RecordAddressSet)]
        [AddressTransformation]
        public ulong Address { get; set; }

        private bool HasAddress => MyInvocation.BoundParameters.ContainsKey(nameof(Address));

        /// <summary>Read from this RAM block (e.g. pc.ram, vga.vram) at -Offset instead of a guest-physical address.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PathBlockSet)]
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathBlockSet)]
        [Parameter(Mandatory = true, ParameterSetName = RecordBlockSet)]
        [ValidateNotNullOrEmpty]
        public string? BlockName { get; set; }

        /// <summary>Offset in -BlockName (0 by default).</summary>
        [Parameter(ParameterSetName = PathBlockSet)]
        [Parameter(ParameterSetName = LiteralPathBlockSet)]
        [Parameter(ParameterSetName = RecordBlockSet)]
        [AddressTransformation]
        public ulong Offset { get; set; }

        /// <summary>Bytes to read (at most 256 MiB: they are held; Export-GuestMemory -Address -Length streams larger ranges to a file); 4096 by default.</summary>
        [Parameter(ParameterSetName = PathAddressSet)]
        [Parameter(ParameterSetName = LiteralPathAddressSet)]
        [Parameter(ParameterSetName = RecordAddressSet)]
        [Parameter(ParameterSetName = PathBlockSet)]
        [Parameter(ParameterSetName = LiteralPathBlockSet)]
        [Parameter(ParameterSetName = RecordBlockSet)]
        [ValidateRange(1L, long.MaxValue)]
        public long Length { get; set; } = 4096;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Length > QemuMemoryRequest.MaxLength)
            {
                ThrowTerminatingError(ErrorRecords.Create(
                    new ArgumentOutOfRangeException(nameof(Length), string.Format(CultureInfo.InvariantCulture, "-Length {0} is over the {1} bytes Get-QemuMemory holds in memory. Write a larger range to a file instead: Export-GuestMemory -Address 0x{2:x} -Length {0} -Destination range.raw.", Length, QemuMemoryRequest.MaxLength, HasAddress ? Address : Offset)),
                    "RangeTooLargeForMemory",
                    ErrorCategory.InvalidArgument,
                    Length));
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

                if (image.Reader.RamBlocks.Count == 0)
                {
                    WriteWarning(NoRam(image, target));
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
                WriteWarning(NoRam(image, target));
            }
            else if (range.MissingBytes > 0)
            {
                WriteWarning(string.Format(CultureInfo.InvariantCulture, "{0}: {1} of the {2} bytes are in no page the stream sent{3}; they read as zero.", target, range.MissingBytes, range.Length, BlockName is null ? " or at no address a RAM block is known to occupy (read other blocks with -BlockName)" : string.Empty));
            }

            WriteObject(range);
        }

        private static string NoRam(QemuImage image, string target) => target + (image.Container is QemuContainer.XenEmulatorContext or QemuContainer.XenDeviceModelRecord
            ? ": this is the device model's state of a Xen guest, which holds no guest memory: Xen keeps it in the image's PAGE_DATA records. Read it with Get-XenMemory, or write it out with Export-GuestMemory."
            : ": the stream has no RAM section (device state only): there is no guest memory in it.");

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
