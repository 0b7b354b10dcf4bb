using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Xend
{
    /// <summary>
    /// xend's save image (docs/formats/containers.md §12; Xen ≤ 4.2, tools/python/xen/xend/XendCheckpoint.py
    /// save()): "LinuxGuestRecord", the config's length as a big-endian signed 32-bit integer
    /// (pack("!i")), the domain config as an SXP S-expression, then xc_save's legacy stream; an HVM
    /// guest's image ends with "QemuDeviceModelRecord" and qemu-dm's state to the end of the file.
    /// </summary>
    internal static class XendFormat
    {
        public const string Signature = "LinuxGuestRecord";

        /// <summary>The signature and the length.</summary>
        public const int HeaderSize = 20;

        /// <summary>A domain config is a few KiB; this bounds what a damaged length can make us read.</summary>
        public const int MaxConfig = 1 << 20;

        public static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, Signature);

        /// <summary>The config length of a header, or an error text.</summary>
        public static int ConfigLength(ReadOnlySpan<byte> header, out string? error)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(header.Slice(16));
            error = length < 0 || length > MaxConfig
                ? string.Format(CultureInfo.InvariantCulture, "the config length {0} is not between 0 and {1}", length, MaxConfig)
                : null;
            return length;
        }
    }

    /// <summary>
    /// A xend domain config (SXP) read into what xl needs, and written as xl config text. Only what
    /// maps one to one is converted; everything else is kept, as comments, with the original SXP,
    /// so nothing of the saved config is lost and xl can restore the image with it or with an edited copy.
    /// </summary>
    internal sealed class XendDomainConfig
    {
        // xl-network-configuration keys that xend's (vif ...) uses with the same meaning.
        private static readonly string[] s_vifKeys = { "mac", "bridge", "model", "type", "script", "ip", "vifname" };

        private XendDomainConfig(List<object> domain, string text)
        {
            Domain = domain;
            Text = text;
        }

        /// <summary>The (domain ...) list.</summary>
        public List<object> Domain { get; }

        /// <summary>The SXP as saved.</summary>
        public string Text { get; }

        public string? Name => SExpression.Value(Domain, "name");

        public string? Uuid => SExpression.Value(Domain, "uuid");

        /// <summary>hvm or pv, from the image section (xend's "(image (hvm ...))" or "(image (linux ...))").</summary>
        public string? GuestType => Image is List<object> { Count: > 1 } img && img[1] is List<object> { Count: > 0 } kind && kind[0] is string k
            ? (k == "hvm" ? "hvm" : "pv")
            : null;

        public long? MemoryMiB => Number(SExpression.Value(Domain, "memory"));

        public long? MaxMemoryMiB => Number(SExpression.Value(Domain, "maxmem"));

        public long? Vcpus => Number(SExpression.Value(Domain, "vcpus"));

        private List<object>? Image => SExpression.Find(Domain, "image");

        /// <summary>Parses the SXP; null when it is not a (domain ...) expression.</summary>
        public static XendDomainConfig? Parse(string text)
        {
            try
            {
                return SExpression.Parse(text) is List<object> { Count: > 0 } d && d[0] is string head && head == "domain" ? new XendDomainConfig(d, text) : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        /// <summary>
        /// The config as xl config text: name, uuid, type, memory, maxmem, vcpus, the kernel, ramdisk,
        /// command line or bootloader of a PV guest, the HVM switches xl has (acpi, apic, pae, viridian,
        /// hap, boot), disks, NICs and the on_* actions; then what was not converted and the original
        /// SXP, as comments.
        /// </summary>
        public string ToXlText()
        {
            var xl = new StringBuilder();
            var used = new HashSet<object>();
            xl.Append("# Converted by XenMigration from a xend save image (Xen 4.2 or older).\n");
            xl.Append("# Only what maps one to one was converted; the original SXP config follows at the end.\n");
            void Line(string key, string? value, bool quote)
            {
                if (value is not null)
                {
                    xl.Append(key).Append(" = ").Append(quote ? Quote(value) : value).Append('\n');
                }
            }

            string? Take(List<object> list, string key)
            {
                if (SExpression.Find(list, key) is List<object> pair)
                {
                    used.Add(pair);
                    return pair.Count >= 2 ? pair[1] as string : null;
                }

                return null;
            }

            used.Add(Domain[0]);
            Line("name", Take(Domain, "name"), true);
            Line("uuid", Take(Domain, "uuid"), true);
            Take(Domain, "domid");   // the saving host's id: meaningless elsewhere
            string? type = GuestType;
            Line("type", type, true);
            Line("memory", Digits(Take(Domain, "memory")), false);
            Line("maxmem", Digits(Take(Domain, "maxmem")), false);
            Line("vcpus", Digits(Take(Domain, "vcpus")), false);
            foreach (string action in new[] { "on_poweroff", "on_reboot", "on_crash" })
            {
                Line(action, Take(Domain, action), true);
            }

            Line("bootloader", Take(Domain, "bootloader"), true);
            Line("bootloader_args", Take(Domain, "bootloader_args"), true);
            if (Image is List<object> image && image.Count > 1 && image[1] is List<object> kind)
            {
                used.Add(image);
                var kindUsed = new HashSet<object> { kind[0] };
                string? TakeImage(string key)
                {
                    if (SExpression.Find(kind, key) is List<object> pair)
                    {
                        kindUsed.Add(pair);
                        return pair.Count >= 2 ? pair[1] as string : null;
                    }

                    return null;
                }

                if (type == "pv")
                {
                    Line("kernel", TakeImage("kernel"), true);
                    Line("ramdisk", TakeImage("ramdisk"), true);
                    Line("extra", TakeImage("args"), true);
                }
                else
                {
                    foreach (string flag in new[] { "acpi", "apic", "pae", "viridian", "hap", "hpet", "nestedhvm" })
                    {
                        Line(flag, Digits(TakeImage(flag)), false);
                    }

                    Line("boot", TakeImage("boot"), true);
                    TakeImage("kernel");   // hvmloader's path: xl finds its own
                    TakeImage("device_model");   // qemu-dm's path: xl picks the device model
                }

                List<object> rest = kind.Where(x => !kindUsed.Contains(x)).ToList();
                if (rest.Count > 0)
                {
                    xl.Append("# Not converted from (image (").Append((string)kind[0]).Append(" ...)): ").Append(string.Join(" ", rest.Select(SExpression.ToText))).Append('\n');
                }
            }

            var disks = new List<string>();
            var nics = new List<string>();
            foreach (object item in Domain)
            {
                if (item is List<object> { Count: 2 } device && device[0] is string d && d == "device" && device[1] is List<object> { Count: > 0 } spec && spec[0] is string dev)
                {
                    if ((dev == "vbd" || dev == "tap" || dev == "tap2") && Disk(spec) is string disk)
                    {
                        disks.Add(disk);
                        used.Add(item);
                    }
                    else if (dev == "vif")
                    {
                        nics.Add(string.Join(",", s_vifKeys
                            .Select(k => SExpression.Value(spec, k) is string v ? k + "=" + v : null).Where(x => x is not null)));
                        used.Add(item);
                    }
                }
            }

            if (disks.Count > 0)
            {
                xl.Append("disk = [ ").Append(string.Join(", ", disks.Select(Quote))).Append(" ]\n");
            }

            if (nics.Count > 0)
            {
                xl.Append("vif = [ ").Append(string.Join(", ", nics.Select(Quote))).Append(" ]\n");
            }

            List<object> notConverted = Domain.Skip(1).Where(x => !used.Contains(x)).ToList();
            if (notConverted.Count > 0)
            {
                xl.Append("# Not converted: ").Append(string.Join(" ", notConverted.Select(SExpression.ToText))).Append('\n');
            }

            xl.Append("# Original xend config (SXP):\n");
            foreach (string line in Text.Replace("\r", string.Empty).Split('\n'))
            {
                xl.Append("# ").Append(line).Append('\n');
            }

            return xl.ToString();
        }

        // (vbd (uname phy:/dev/vg/web) (dev xvda:disk) (mode w)) -> "phy:/dev/vg/web,xvda,w" (xl-disk-configuration: target, vdev, access, devtype).
        private static string? Disk(List<object> spec)
        {
            string? uname = SExpression.Value(spec, "uname");
            string? dev = SExpression.Value(spec, "dev");
            if (dev is null)
            {
                return null;
            }

            string[] parts = dev.Split(':');
            string mode = SExpression.Value(spec, "mode") ?? "w";
            string access = mode.StartsWith("w", StringComparison.Ordinal) ? "w" : "r";
            bool cdrom = parts.Length > 1 && parts[1] == "cdrom";
            string target = uname ?? string.Empty;
            if (target.StartsWith("tap:aio:", StringComparison.Ordinal) || target.StartsWith("tap2:aio:", StringComparison.Ordinal))
            {
                target = "file:" + target.Substring(target.IndexOf("aio:", StringComparison.Ordinal) + 4);
            }

            return string.Join(",", new[] { target, parts[0], access }) + (cdrom ? ",devtype=cdrom" : string.Empty);
        }

        private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

        private static string? Digits(string? s) => s is not null && s.Length > 0 && s.All(char.IsDigit) ? s : null;

        private static long? Number(string? s) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;
    }
}
