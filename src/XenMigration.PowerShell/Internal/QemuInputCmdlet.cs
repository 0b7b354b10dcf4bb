using System;
using System.Collections.Generic;
using XenMigration.Images;
using XenMigration.Qemu;
using XenMigration.Records;

namespace XenMigration.Commands
{
    /// <summary>
    /// Base of the QEMU cmdlets: files by -Path / -LiteralPath (QEVM streams, libvirt save images,
    /// Xen save images), or Xen EMULATOR_CONTEXT records from Get-XenStreamRecord on the pipeline.
    /// </summary>
    public abstract class QemuInputCmdlet : RecordInputCmdlet
    {
        /// <summary>Options for each stream opened (a memory range, say).</summary>
        private protected virtual QemuStreamReaderOptions NewOptions() => new QemuStreamReaderOptions();

        // Every stream is read with the pipeline's stop signal.
        private QemuStreamReaderOptions Options()
        {
            QemuStreamReaderOptions options = NewOptions();
            options.CancellationToken = Stopped;
            return options;
        }

        /// <summary>Reads one opened stream: writes what the cmdlet outputs.</summary>
        private protected abstract void ProcessImage(QemuImage image, ProgressReporter progress, string target);

        private protected override XenRecordType AcceptedType => XenRecordType.EmulatorContext;

        // A XenServer image's Qemu_xen record holds upstream QEMU's state as EMULATOR_CONTEXT does.
        private protected override bool Accepts(XenStreamRecord record) => record is XenServer.XenServerRecord { Kind: XenServer.XenServerRecordKind.QemuXen };

        private protected override void ProcessInputRecord(XenStreamRecord record) =>
            Run(record.FilePath ?? record.ToString(), () => new[] { QemuImage.OpenXenPayload(record, Options()) });

        /// <inheritdoc/>
        protected override void ProcessFile(string path) => Run(path, () => QemuImage.OpenFile(path, Options()));

        private void Run(string target, Func<IEnumerable<QemuImage>> open) => RunInput(target, 0x51454D55, progress =>
        {
            foreach (QemuImage image in open())
            {
                using (image)
                {
                    ProcessImage(image, progress, target);
                    if (image.Reader.DescriptionProblem is string damaged)
                    {
                        WriteWarning(target + ": " + damaged);
                    }

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
        });

        /// <summary>Reads every record of the image, reporting progress; the callback sees each one.</summary>
        private protected void ReadAll(QemuImage image, ProgressReporter progress, string target, Action<QemuRecord> each) =>
            ReadAll(image.Reader, target, progress, each);
    }
}
