using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.Images;
using XenMigration.Qemu;
using XenMigration.Records;

namespace XenMigration.Memory
{
    /// <summary>Options of <see cref="GuestMemoryExport.ExportFile"/>.</summary>
    internal sealed class GuestMemoryExportOptions
    {
        public GuestMemoryFormat Format { get; set; }

        /// <summary>Xen checkpointed streams: export this checkpoint (1-based) instead of the last.</summary>
        public int? Checkpoint { get; set; }

        public Action<long, long?>? Progress { get; set; }

        /// <summary>A raw image of this guest-physical range only (address, length in bytes).</summary>
        public (ulong Address, long Length)? Range { get; set; }

        public CancellationToken CancellationToken { get; set; }
    }

    /// <summary>
    /// Writes the guest memory of an image (Xen v2 stream in any wrapper, QEMU stream, libvirt
    /// save) to a file, the safe way: destination checked, written to a temporary file, moved into
    /// place at the end; nothing is left behind on failure.
    /// </summary>
    internal static class GuestMemoryExport
    {
        public static GuestMemoryExportResult ExportFile(string inputPath, string destination, GuestMemoryExportOptions options, CommitOptions commit)
        {
            destination = Path.GetFullPath(destination);
            OutputFile.Check(destination, inputPath, commit);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            using FileStream file = XenFile.OpenRead(inputPath);
            Stream input = file.CanSeek ? file : new PeekStream(file);
            DetectedFormat format = FormatDetector.Detect(PeekStream.Probe(input, FormatDetector.ProbeLength));
            using AtomicFileWriter output = AtomicFileWriter.Create(destination);
            GuestMemoryWriter writer = options.Range is (ulong address, long length)
                ? (options.Format == GuestMemoryFormat.Elf ? throw new ArgumentException("A range of guest memory is written as a raw image, not an ELF core.") : new RangeMemoryWriter(output.Stream, address, length))
                : options.Format == GuestMemoryFormat.Elf ? new ElfCoreWriter(output.Stream) : new RawMemoryWriter(output.Stream);
            var state = new GuestMachineState();
            var result = new GuestMemoryExportResult(inputPath, destination, options.Format);
            if (format is DetectedFormat.XlSaveFile or DetectedFormat.Libxl or DetectedFormat.Libxc || ContainerRegistry.IsContainer(format))
            {
                ExportXen(input, inputPath, writer, state, options);
            }
            else
            {
                ExportQemu(input, inputPath, writer, state, options);
            }

            state.VmcoreInfoAddress = writer.VmcoreInfoAddress;
            state.VmcoreInfoSize = writer.VmcoreInfoSize;
            result.FileLength = writer.End(state);
            result.DataPages = writer.DataPages;
            result.ZeroPages = writer.ZeroPages;
            result.Ranges = writer.Layout?.Ranges.Count ?? 0;
            result.Vcpus = state.Vcpus.Count;
            result.HasVmcoreInfo = options.Format == GuestMemoryFormat.Elf && state.VmcoreInfoAddress is not null;
            OutputFile.Commit(output, commit);
            return result;
        }

        private static void ExportXen(Stream input, string path, GuestMemoryWriter writer, GuestMachineState state, GuestMemoryExportOptions options)
        {
            var scan = new XenMemoryOptions { Checkpoint = options.Checkpoint, Progress = options.Progress, CancellationToken = options.CancellationToken };
            if (!input.CanSeek)
            {
                // A pipe is read once: pages go to the file as they arrive, later copies over earlier ones.
                if (writer is ElfCoreWriter)
                {
                    throw new XenFormatException(XenErrorIds.NeedsSeekableInput, "An ELF core of a Xen image needs its memory ranges before its pages, so the image must be a file, not a pipe; export it as raw, or save the stream to a file first.", 0);
                }

                if (options.Checkpoint is not null)
                {
                    throw new XenFormatException(XenErrorIds.NeedsSeekableInput, "-Checkpoint needs the image in a file: a pipe cannot be read again to drop the pages of later checkpoints.", 0);
                }

                writer.Begin(null);
                scan.WriteThrough = writer;
                XenMemoryImage piped = XenMemoryImage.Scan(input, path, scan);
                state.Vcpus.AddRange(piped.Vcpus);
                return;
            }

            XenMemoryImage image = XenMemoryImage.Scan(input, path, scan);
            if (image.PageCount == 0)
            {
                throw new XenFormatException(XenErrorIds.NoGuestMemory, "The image holds no guest pages (no PAGE_DATA records with memory).", 0);
            }

            writer.Begin(image.Layout());
            const int Chunk = 256;   // 1 MiB: one read and one write per run of pages
            byte[] buffer = new byte[Chunk * 4096];
            long done = 0, total = image.PageCount, next = 0;
            foreach (var (pfn, count, kind) in image.Chunks(Chunk))
            {
                done += count;
                if (done >= next)
                {
                    next = done + 4096;
                    options.CancellationToken.ThrowIfCancellationRequested();
                    options.Progress?.Invoke(done * 4096, total * 4096);
                }

                if (writer is RangeMemoryWriter range && !range.Wants(pfn << 12, count))
                {
                    continue;   // outside the range: not even read
                }

                if (kind == GuestMemoryKind.Data)
                {
                    image.ReadChunk(pfn, count, buffer);
                    writer.Pages(pfn << 12, buffer, count);
                }
                else if (kind == GuestMemoryKind.Zero)
                {
                    writer.Zero(pfn << 12);
                }
            }

            state.Vcpus.AddRange(image.Vcpus);
        }

        private static void ExportQemu(Stream input, string path, GuestMemoryWriter writer, GuestMachineState state, GuestMemoryExportOptions options)
        {
            if (options.Checkpoint is not null)
            {
                throw new ArgumentException("-Checkpoint applies to checkpointed Xen streams only.");
            }

            var sink = new QemuMemorySink(writer);
            using QemuImage image = QemuImage.Open(input, leaveOpen: true, new QemuStreamReaderOptions { SourcePath = path, PageSink = sink, CancellationToken = options.CancellationToken });
            var cpus = new List<QemuSection>();
            QemuRecord? r;
            long n = 0;
            while ((r = image.Reader.ReadNext()) is not null)
            {
                if (r is QemuSection s && QemuCpuState.IsCpuSection(s))
                {
                    cpus.Add(s);
                }

                if ((++n & 0x3F) == 0)
                {
                    options.Progress?.Invoke(image.Reader.Position, image.Reader.Length);
                }
            }

            if (!sink.Started)
            {
                throw new XenFormatException(XenErrorIds.NoGuestMemory, "The QEMU stream has no RAM section (device state only, as a Xen EMULATOR_CONTEXT): there is no guest memory in it.", image.Reader.Position);
            }

            foreach (QemuCpuState cpu in QemuCpuState.FromSections(cpus))
            {
                state.Vcpus.Add(cpu.Registers);
            }
        }
    }
}
