using System;
using System.Collections.Generic;
using System.Management.Automation;
using XenMigration.Libxl;
using XenMigration.Qemu;
using XenMigration.XenStream;

namespace XenMigration.Commands
{
    /// <summary>
    /// Base of the QEMU cmdlets: files by -Path / -LiteralPath (QEVM streams, libvirt save images,
    /// Xen save images), or Xen EMULATOR_CONTEXT records from Get-XenStreamRecord on the pipeline.
    /// </summary>
    public abstract class QemuInputCmdlet : InputFileCmdlet
    {
        /// <summary>Parameter set of -InputObject.</summary>
        protected const string RecordSet = "InputObject";

        /// <summary>EMULATOR_CONTEXT records (from Get-XenStreamRecord) whose QEMU state to read.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RecordSet, ValueFromPipeline = true)]
        [ValidateNotNull]
        public XenStreamRecord? InputObject { get; set; }

        /// <summary>Options for each stream opened (a memory range, say).</summary>
        private protected virtual QemuStreamReaderOptions NewOptions() => new QemuStreamReaderOptions();

        /// <summary>Reads one opened stream: writes what the cmdlet outputs.</summary>
        private protected abstract void ProcessImage(QemuImage image, ProgressReporter progress, string target);

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (ParameterSetName != RecordSet)
            {
                base.ProcessRecord();
                return;
            }

            XenStreamRecord record = InputObject!;
            string target = record.FilePath ?? record.ToString();
            if (record is not EmulatorContextRecord context)
            {
                // Other records pass by quietly when a whole image is piped in; say so only if none fits.
                _skipped++;
                return;
            }

            _used++;
            Run(target, () => new[] { QemuImage.OpenXenRecord(context, NewOptions()) });
        }

        private int _skipped;
        private int _used;

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (ParameterSetName == RecordSet && _used == 0 && _skipped > 0)
            {
                WriteError(ErrorRecords.Create(
                    new ArgumentException("None of the " + _skipped.ToString(System.Globalization.CultureInfo.InvariantCulture) + " records piped in is an EMULATOR_CONTEXT record, the only record that holds QEMU state. Pipe Get-XenStreamRecord -Type EmulatorContext."),
                    "NotEmulatorContext",
                    ErrorCategory.InvalidArgument,
                    null));
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path) => Run(path, () => QemuImage.OpenFile(path, NewOptions()));

        private void Run(string target, Func<IEnumerable<QemuImage>> open)
        {
            var progress = new ProgressReporter(this, 0x51454D55, MyInvocation.MyCommand.Name);
            try
            {
                foreach (QemuImage image in open())
                {
                    using (image)
                    {
                        ProcessImage(image, progress, target);
                        if (image.Reader.StopReason is string why)
                        {
                            WriteWarning(target + ": " + why);
                        }
                    }

                    if (Stopping)
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex) || ex is InvalidOperationException)
            {
                WriteError(ErrorRecords.FromException(ex, target));
            }
            finally
            {
                progress.Complete();
            }
        }

        /// <summary>Reads every record of the image, reporting progress; the callback sees each one.</summary>
        private protected void ReadAll(QemuImage image, ProgressReporter progress, string target, Action<QemuRecord> each)
        {
            QemuRecord? record;
            while ((record = image.Reader.ReadNext()) is not null)
            {
                each(record);
                progress.Report(target, image.Reader.Position, image.Reader.Length);
                if (Stopping)
                {
                    return;
                }
            }
        }
    }
}
