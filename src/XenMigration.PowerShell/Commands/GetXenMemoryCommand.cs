using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using XenMigration.FileIO;
using XenMigration.Memory;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the guest memory a Xen image holds, or reads pages and guest-physical ranges from it.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "XenMemory", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Get-XenMemory.md")]
    [OutputType(typeof(GuestMemoryRun), typeof(GuestMemoryRange))]
    public sealed class GetXenMemoryCommand : InputFileCmdlet
    {
        /// <summary>Page frame numbers to read (one 4096-byte range each).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public ulong[]? Pfn { get; set; }

        /// <summary>Address (PFN × 4096) of the first byte to read.</summary>
        [Parameter]
        [AddressTransformation]
        public ulong Address { get; set; }

        /// <summary>Bytes to read from -Address (at most 256 MiB); 4096 by default.</summary>
        [Parameter]
        [ValidateRange(1, XenMemoryImage.MaxRangeLength)]
        public int Length { get; set; } = 4096;

        /// <summary>Checkpointed streams: the memory at the end of this checkpoint (1-based) instead of the last complete one.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Checkpoint { get; set; }

        private bool HasAddress => MyInvocation.BoundParameters.ContainsKey(nameof(Address));

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (HasAddress && Pfn is not null)
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("Give -Pfn (whole pages) or -Address with -Length, not both."), "AddressAndPfn", ErrorCategory.InvalidArgument, null));
            }

            if (HasAddress && Address > ulong.MaxValue - (ulong)(Length - 1))
            {
                ThrowTerminatingError(ErrorRecords.Create(new ArgumentOutOfRangeException(nameof(Address), string.Format(CultureInfo.InvariantCulture, "-Address 0x{0:x} with -Length {1} passes the end of the 64-bit address space.", Address, Length)), "AddressOutOfRange", ErrorCategory.InvalidArgument, Address));
            }

            if (Pfn is not null)
            {
                foreach (ulong pfn in Pfn)
                {
                    if (pfn > ulong.MaxValue >> 12)
                    {
                        ThrowTerminatingError(ErrorRecords.Create(new ArgumentOutOfRangeException(nameof(Pfn), string.Format(CultureInfo.InvariantCulture, "PFN 0x{0:x} is beyond the 64-bit address space.", pfn)), "AddressOutOfRange", ErrorCategory.InvalidArgument, pfn));
                    }
                }
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            RunInput(path, 0x584D454D, progress =>
            {
                using FileStream file = XenFile.OpenRead(path);
                var wanted = Wanted();
                var options = new XenMemoryOptions
                {
                    Checkpoint = MyInvocation.BoundParameters.ContainsKey(nameof(Checkpoint)) ? Checkpoint : null,
                    Capture = file.CanSeek || wanted is null ? null : wanted.Contains,
                    Progress = (done, total) => progress.Report(path, done, total),
                    CancellationToken = Stopped,
                };
                XenMemoryImage image = XenMemoryImage.Scan(file, path, options);
                if (Pfn is not null)
                {
                    foreach (ulong pfn in Pfn)
                    {
                        WriteObject(image.ReadRange(pfn << 12, 4096));
                    }
                }
                else if (HasAddress)
                {
                    WriteObject(image.ReadRange(Address, Length));
                }
                else
                {
                    foreach (GuestMemoryRun run in image.Runs())
                    {
                        WriteObject(run);
                    }
                }
            });
        }

        // The frames to capture during the pass when the input is a pipe.
        private HashSet<ulong>? Wanted()
        {
            if (Pfn is not null)
            {
                return new HashSet<ulong>(Pfn);
            }

            if (!HasAddress)
            {
                return null;
            }

            var set = new HashSet<ulong>();
            ulong last = (Address + (ulong)(Length - 1)) >> 12;
            for (ulong pfn = Address >> 12; ; pfn++)
            {
                set.Add(pfn);
                if (pfn == last)
                {
                    break;
                }
            }

            return set;
        }
    }
}
