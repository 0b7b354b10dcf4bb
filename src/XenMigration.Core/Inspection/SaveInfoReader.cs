using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Images;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.Inspection
{
    /// <summary>
    /// Reads what Get-XenSaveInfo shows from any image the module opens, in one pass that reads no
    /// page payload (Xen images cost what Test-XenStream costs): the configuration's identity and
    /// shape, and the stream's formats, versions, vCPUs, pages present, checkpoints and device model.
    /// </summary>
    internal static class SaveInfoReader
    {
        public static XenSaveInfo Read(string path, CancellationToken cancel = default)
        {
            var info = new XenSaveInfo(path);
            var file = new FileInfo(path);
            info.Created = file.LastWriteTime;
            using FileStream stream = XenFile.OpenRead(path);
            info.Size = stream.CanSeek ? stream.Length : 0;
            Stream input = stream.CanSeek ? stream : new PeekStream(stream);
            DetectedFormat format = FormatDetector.Detect(PeekStream.Probe(input, FormatDetector.ProbeLength));
            info.Format = format;
            if (format is DetectedFormat.QemuSavevm or DetectedFormat.LibvirtSave || FormatDetector.IsCompressed(format))
            {
                ReadQemu(input, path, info, cancel);
            }
            else if (format is DetectedFormat.LegacyLibxc or DetectedFormat.XendSave or DetectedFormat.XenServerLegacySuspend)
            {
                ReadLegacy(input, info, cancel);
                info.Format = format;
            }
            else
            {
                ReadXen(input, path, info, cancel);
            }

            return info;
        }

        private static void ReadXen(Stream input, string path, XenSaveInfo info, CancellationToken cancel)
        {
            var pages = new PageBitmap();
            var pvVcpus = new HashSet<uint>();
            int hvmVcpus = 0;
            var layers = new List<string>();
            using var reader = new XenStreamReader(input, leaveOpen: true, new XenStreamReaderOptions { SourcePath = path });
            try
            {
                XenStreamRecord? r;
                while ((r = reader.ReadNext()) is not null)
                {
                    if ((++info.RecordCount & 0xFF) == 0)
                    {
                        cancel.ThrowIfCancellationRequested();
                    }

                    switch (r)
                    {
                        case XlHeaderRecord xl:
                            layers.Add(Layer("xl", xl.Offset));
                            if (xl.Config is string text)
                            {
                                ApplyConfig(info, DomainConfig.FromXl(text, xl.ConfigFormat == XlConfigFormat.Json), text, xl.ConfigFormat == XlConfigFormat.Json ? "Json" : "Xl");
                            }

                            break;
                        case XenServer.XenopsRecord ops:
                            layers.Add(Layer("xenserver", 0));
                            info.Name = ops.VmName;
                            info.Uuid = ops.VmUuid;
                            info.GuestType = ops.VmType switch
                            {
                                "HVM" => "Hvm",
                                "PV" or "PVinPVH" => "Pv",
                                "PVH" => "Pvh",
                                _ => info.GuestType,
                            };
                            info.MemoryMiB = ops.MemoryStaticMax >> 20;
                            info.TargetMemoryMiB = ops.MemoryDynamicMax >> 20;
                            info.Vcpus = ops.VcpuMax;
                            if (ops.VmRecord is string vm)
                            {
                                info.ConfigText = vm;
                                info.ConfigFormat = "Json";
                            }

                            break;
                        case Libvirt.LibvirtLibxlHeaderRecord lv:
                            layers.Add(Layer("libvirt-libxl", lv.Offset));
                            ApplyConfig(info, DomainConfig.FromLibvirtXml(lv.Xml), lv.Xml, "Xml");
                            break;
                        case LibxlHeaderRecord l:
                            layers.Add(Layer("libxl", l.Offset));
                            info.LibxlVersion = l.Version;
                            info.IsConverted |= l.IsLegacyConverted;
                            break;
                        case ImageHeaderRecord i:
                            layers.Add(Layer("libxc", i.Offset));
                            info.LibxcVersion = i.Version;
                            break;
                        case DomainHeaderRecord d:
                            info.GuestType ??= d.GuestType == XenGuestType.Hvm ? "Hvm" : d.GuestType == XenGuestType.Pv ? "Pv" : d.GuestType.ToString();
                            info.XenVersion = d.XenVersion;
                            info.IsConverted |= d.IsLegacyConverted;
                            break;
                        case PvInfoRecord pv:
                            info.GuestWidth = pv.GuestWidth;
                            break;
                        case PageDataRecord p:
                            foreach (PageFrame f in p.Frames)
                            {
                                if (f.HasData || f.Type == XenPageType.XAlloc)
                                {
                                    pages.Set(f.Pfn, true);
                                }
                            }

                            break;
                        case PvVcpuRecord v:
                            pvVcpus.Add(v.VcpuId);
                            break;
                        case EmulatorContextRecord e:
                            info.DeviceModel = e.EmulatorId.ToString();
                            info.DeviceModelBytes += e.PayloadLength;
                            break;
                    }

                    switch (r.Type)
                    {
                        case XenRecordType.HvmContext:
                            hvmVcpus = 0;
                            foreach (HvmContextEntry e in HvmContextDecoder.DecodeRecord(r))
                            {
                                if (e.TypeCode == HvmTypeCode.Cpu)
                                {
                                    hvmVcpus++;
                                }
                            }

                            break;
                        case XenRecordType.Checkpoint:
                            info.Checkpoints++;
                            break;
                        case XenRecordType.LegacyDeviceModel:
                            info.DeviceModel ??= "QemuTraditional";
                            info.DeviceModelBytes += r.PayloadLength;
                            break;
                    }
                }
            }
            catch (XenUnsupportedFormatException ex) when (ex.Format == DetectedFormat.LegacyLibxc && input.CanSeek)
            {
                // A legacy stream behind an xl header: the header was read, the rest is the converter's.
                input.Position = 0;
                ReadLegacy(input, info, cancel);
                info.Layers = string.Join(" ", layers);
                return;
            }

            info.PagesPresent = pages.Count;
            info.VcpusWithState = Math.Max(hvmVcpus, pvVcpus.Count);
            info.Vcpus ??= info.VcpusWithState;
            info.Layers = string.Join(" ", layers);
        }

        private static void ReadLegacy(Stream input, XenSaveInfo info, CancellationToken cancel)
        {
            info.IsLegacy = true;
            info.Format = DetectedFormat.LegacyLibxc;
            LegacyConversionResult r = LegacyStreamConverter.Convert(input, Stream.Null, new LegacyConversionOptions { CancellationToken = cancel });

            // A xend image's config, as the converter writes it for xl (what maps, and the SXP as comments).
            if (r.ConvertedConfig is string xl)
            {
                ApplyConfig(info, DomainConfig.FromXl(xl, json: false), xl, "Xl");
            }

            info.GuestType ??= r.GuestType == XenGuestType.Pv ? "Pv" : "Hvm";
            info.PagesPresent = r.Pages;
            info.VcpusWithState = r.Vcpus;
            info.Vcpus ??= r.Vcpus > 0 ? r.Vcpus : null;
            if (r.QemuStateLength is long q)
            {
                info.DeviceModel = "QemuTraditional";
                info.DeviceModelBytes = q;
            }
        }

        private static void ReadQemu(Stream input, string path, XenSaveInfo info, CancellationToken cancel)
        {
            using QemuImage image = QemuImage.Open(input, leaveOpen: true, new QemuStreamReaderOptions { SourcePath = path, CancellationToken = cancel });
            if (image.Libvirt is not null)
            {
                ApplyConfig(info, DomainConfig.FromLibvirtXml(image.Libvirt.Xml), image.Libvirt.Xml, "Xml");
            }

            var cpus = new HashSet<uint>();
            QemuRecord? r;
            while ((r = image.Reader.ReadNext()) is not null)
            {
                info.RecordCount++;
                if (r is QemuSection { IdStr: "cpu" } s)
                {
                    cpus.Add(s.InstanceId);
                }
            }

            QemuConfigurationRecord? config = image.Reader.Configuration;
            info.MachineType = config?.MachineType;
            info.Uuid ??= config?.Uuid?.ToString();
            info.GuestType ??= "Hvm";
            long ram = 0;
            foreach (QemuRamBlock b in image.Reader.RamBlocks)
            {
                if (b.Name == "pc.ram")
                {
                    ram += b.Length;
                }

                info.PagesPresent += b.Pages + b.CompressedPages + b.XbzrlePages;
            }

            info.MemoryMiB ??= ram > 0 ? ram >> 20 : null;
            info.VcpusWithState = cpus.Count;
            info.Vcpus ??= cpus.Count;
            info.DeviceModel = "Qemu";
            info.Layers = image.Libvirt is not null ? string.Format(CultureInfo.InvariantCulture, "libvirt@0x0 qemu@0x{0:x}", image.StreamOffset) : "qemu@0x0";
        }

        private static void ApplyConfig(XenSaveInfo info, DomainConfig? config, string text, string form)
        {
            info.ConfigText = text;
            info.ConfigFormat = form;
            if (config is null)
            {
                return;
            }

            info.Name = config.Name;
            info.Uuid = config.Uuid;
            info.GuestType = config.Type switch
            {
                "hvm" => "Hvm",
                "pv" => "Pv",
                "pvh" => "Pvh",
                _ => null,
            };
            info.MemoryMiB = config.MaxMemKb is ulong max ? (long)(max / 1024) : null;
            info.TargetMemoryMiB = config.TargetMemKb is ulong target ? (long)(target / 1024) : null;
            info.Vcpus = config.MaxVcpus;
            info.Viridian = config.Viridian;
            info.Hap = config.Hap;
            info.Disks = ReadOnlyView.Of(config.Disks.ToArray());
            info.Nics = ReadOnlyView.Of(config.Nics.ToArray());
        }

        private static string Layer(string name, long offset) => string.Format(CultureInfo.InvariantCulture, "{0}@0x{1:x}", name, offset);
    }
}
