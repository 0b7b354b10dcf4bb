using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;
using XenMigration.Framing;

namespace XenMigration.Records
{
    /// <summary>
    /// What a saved guest's configuration says about it, from whichever form the toolstack saved:
    /// libxl's libxl_domain_config JSON (xl save files with the JSON flag), xl's own config text
    /// (older xl save files), or libvirt's domain XML (libvirt save images). Only what the
    /// restore-compatibility rules and Get-XenSaveInfo use is taken out; the text itself is kept.
    /// </summary>
    internal sealed class DomainConfig
    {
        public string Text { get; private set; } = string.Empty;

        /// <summary>"json", "xl", or "xml".</summary>
        public string Form { get; private set; } = string.Empty;

        public string? Name { get; private set; }

        public string? Uuid { get; private set; }

        /// <summary>"hvm", "pv" or "pvh" (lower case), when the config says.</summary>
        public string? Type { get; private set; }

        public ulong? MaxMemKb { get; private set; }

        public ulong? TargetMemKb { get; private set; }

        public ulong? VideoMemKb { get; private set; }

        public int? MaxVcpus { get; private set; }

        /// <summary>Whether Viridian (Hyper-V) enlightenments are enabled; null when the config does not say.</summary>
        public bool? Viridian { get; private set; }

        /// <summary>The Viridian groups the config lists (empty for a plain on/off).</summary>
        public IReadOnlyList<string> ViridianGroups => _viridianGroups;

        private readonly List<string> _viridianGroups = new List<string>();

        public bool? Hap { get; private set; }

        public ulong? ShadowMemKb { get; private set; }

        /// <summary>libxl's tsc_mode name (default, always_emulate, native, native_paravirt), when set.</summary>
        public string? TscModeName { get; private set; }

        /// <summary>libxl's device_model_version name (qemu_xen, qemu_xen_traditional), when set.</summary>
        public string? DeviceModelVersion { get; private set; }

        public List<string> Disks { get; } = new List<string>();

        public List<string> Nics { get; } = new List<string>();

        /// <summary>Reads an xl header's config (JSON or xl text); null when it is not one of them.</summary>
        public static DomainConfig? FromXl(string text, bool json)
        {
            try
            {
                return json ? FromJson(text) : FromXlText(text);
            }
            catch (FormatException)
            {
                return null;
            }
        }

        private static DomainConfig FromJson(string text)
        {
            var c = new DomainConfig { Text = text, Form = "json" };
            if (JsonText.Parse(text) is not JsonObject root)
            {
                throw new FormatException("The config is not a JSON object.");
            }

            JsonObject? cInfo = Obj(root, "c_info"), bInfo = Obj(root, "b_info");
            c.Name = Str(cInfo, "name");
            c.Uuid = Str(cInfo, "uuid");
            c.Type = Str(cInfo, "type")?.ToLowerInvariant();
            c.MaxMemKb = Num(bInfo, "max_memkb");
            c.TargetMemKb = Num(bInfo, "target_memkb");
            c.VideoMemKb = Num(bInfo, "video_memkb");
            c.MaxVcpus = Num(bInfo, "max_vcpus") is ulong v ? (int)Math.Min(v, int.MaxValue) : null;
            c.ShadowMemKb = Num(bInfo, "shadow_memkb");
            c.TscModeName = Str(bInfo, "tsc_mode")?.ToLowerInvariant();
            c.DeviceModelVersion = Str(bInfo, "device_model_version")?.ToLowerInvariant();
            JsonObject? hvm = Obj(bInfo, "type.hvm");
            if (hvm is not null)
            {
                c.Type ??= "hvm";
                if (hvm.TryGetValue("viridian", out object? viridian))
                {
                    if (viridian is List<object?> named)
                    {
                        foreach (object? g in named)
                        {
                            if (g is string name)
                            {
                                c._viridianGroups.Add(name);
                            }
                        }
                    }

                    c.Viridian = viridian switch
                    {
                        List<object?> groups => groups.Count > 0,
                        string s => Truth(s),
                        bool b => b,
                        _ => null,
                    };
                }

                if (hvm.TryGetValue("hap", out object? hap) && hap is string h)
                {
                    c.Hap = Truth(h);
                }
            }

            if (bInfo is not null && Obj(bInfo, "type.pv") is not null)
            {
                c.Type ??= "pv";
            }

            foreach (JsonObject disk in Objects(root, "disks"))
            {
                c.Disks.Add(Str(disk, "vdev") + "=" + (Str(disk, "pdev_path") ?? string.Empty));
            }

            foreach (JsonObject nic in Objects(root, "nics"))
            {
                c.Nics.Add((Str(nic, "mac") ?? "?") + (Str(nic, "bridge") is string br ? "@" + br : string.Empty));
            }

            return c;
        }

        // xl's config format (xl.cfg): key = value lines, strings quoted, lists in brackets.
        private static readonly Regex s_xlLine = new Regex(@"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*;?\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant);

        private static readonly Regex s_xlListItem = new Regex("'([^']*)'|\"([^\"]*)\"", RegexOptions.CultureInvariant);

        private static DomainConfig FromXlText(string text)
        {
            var c = new DomainConfig { Text = text, Form = "xl" };
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match m in s_xlLine.Matches(text))
            {
                keys[m.Groups[1].Value] = m.Groups[2].Value;
            }

            string? S(string k) => keys.TryGetValue(k, out string? v) ? v.Trim().Trim('"', '\'') : null;
            ulong? N(string k) => ulong.TryParse(S(k), NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong n) ? n : null;
            c.Name = S("name");
            c.Uuid = S("uuid");
            c.Type = (S("type") ?? (S("builder") == "hvm" ? "hvm" : S("builder") is null ? null : "pv"))?.ToLowerInvariant();
            c.TargetMemKb = N("memory") * 1024;
            c.MaxMemKb = (N("maxmem") ?? N("memory")) * 1024;
            c.VideoMemKb = N("videoram") * 1024;
            c.MaxVcpus = (int?)(N("maxvcpus") ?? N("vcpus"));
            c.Viridian = S("viridian") is string vir ? vir != "0" && vir != "[]" && !vir.Equals("false", StringComparison.OrdinalIgnoreCase) : null;
            c.Hap = S("hap") is string hap ? hap != "0" : null;
            c.ShadowMemKb = N("shadow_memory") * 1024;
            c.TscModeName = S("tsc_mode")?.Replace('-', '_').ToLowerInvariant();
            c.DeviceModelVersion = S("device_model_version")?.Replace('-', '_').ToLowerInvariant();
            // List items are strings in either quote (xl.cfg allows both).
            foreach (Match m in s_xlListItem.Matches(S("disk") ?? string.Empty))
            {
                c.Disks.Add(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
            }

            foreach (Match m in s_xlListItem.Matches(S("vif") ?? string.Empty))
            {
                c.Nics.Add(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
            }

            if (c.Name is null && c.Type is null && c.MaxMemKb is null)
            {
                throw new FormatException("No xl config keys.");
            }

            return c;
        }

        /// <summary>Reads libvirt's domain XML (the XML of a libvirt save image); null when it is not one.</summary>
        public static DomainConfig? FromLibvirtXml(string text)
        {
            var doc = new XmlDocument { XmlResolver = null };
            try
            {
                using var reader = XmlReader.Create(new System.IO.StringReader(text), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = 16 << 20 });
                doc.Load(reader);
            }
            catch (XmlException)
            {
                return null;
            }

            XmlElement? domain = doc.DocumentElement;
            if (domain is null || domain.Name != "domain")
            {
                return null;
            }

            var c = new DomainConfig { Text = text, Form = "xml" };
            c.Name = domain.SelectSingleNode("name")?.InnerText;
            c.Uuid = domain.SelectSingleNode("uuid")?.InnerText;
            string? osType = domain.SelectSingleNode("os/type")?.InnerText;
            c.Type = osType switch
            {
                "hvm" => "hvm",
                "xen" or "linux" => "pv",
                "xenpvh" => "pvh",
                _ => osType,
            };
            c.MaxMemKb = KiB(domain.SelectSingleNode("memory") as XmlElement);
            c.TargetMemKb = KiB(domain.SelectSingleNode("currentMemory") as XmlElement) ?? c.MaxMemKb;
            c.MaxVcpus = int.TryParse(domain.SelectSingleNode("vcpu")?.InnerText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : null;
            if (domain.SelectSingleNode("features/hyperv") is XmlElement)
            {
                c.Viridian = true;
            }

            foreach (XmlElement disk in domain.SelectNodes("devices/disk")!)
            {
                string? target = (disk.SelectSingleNode("target") as XmlElement)?.GetAttribute("dev");
                var source = disk.SelectSingleNode("source") as XmlElement;
                c.Disks.Add(target + "=" + (source?.GetAttribute("file") is { Length: > 0 } f ? f : source?.GetAttribute("dev")));
            }

            foreach (XmlElement nic in domain.SelectNodes("devices/interface")!)
            {
                string? mac = (nic.SelectSingleNode("mac") as XmlElement)?.GetAttribute("address");
                string? bridge = (nic.SelectSingleNode("source") as XmlElement)?.GetAttribute("bridge");
                c.Nics.Add((mac ?? "?") + (string.IsNullOrEmpty(bridge) ? string.Empty : "@" + bridge));
            }

            return c;
        }

        private static ulong? KiB(XmlElement? e)
        {
            if (e is null || !ulong.TryParse(e.InnerText.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong v))
            {
                return null;
            }

            return e.GetAttribute("unit").ToUpperInvariant() switch
            {
                "B" or "BYTES" => v / 1024,
                "M" or "MIB" => v * 1024,
                "MB" => v * 1000 * 1000 / 1024,
                "G" or "GIB" => v * 1024 * 1024,
                _ => v,   // KiB is libvirt's default
            };
        }

        private static bool Truth(string s) => s.Equals("True", StringComparison.OrdinalIgnoreCase) || s == "1";

        private static JsonObject? Obj(JsonObject? o, string key) => o is not null && o.TryGetValue(key, out object? v) ? v as JsonObject : null;

        private static string? Str(JsonObject? o, string key) => o is not null && o.TryGetValue(key, out object? v) ? v switch
        {
            string s => s,
            long l => l.ToString(CultureInfo.InvariantCulture),
            _ => null,
        } : null;

        private static ulong? Num(JsonObject? o, string key) => o is not null && o.TryGetValue(key, out object? v) ? v switch
        {
            long l when l >= 0 => (ulong)l,
            string s when ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong n) => n,
            _ => null,
        } : null;

        private static IEnumerable<JsonObject> Objects(JsonObject o, string key)
        {
            if (o.TryGetValue(key, out object? v) && v is List<object?> list)
            {
                foreach (object? item in list)
                {
                    if (item is JsonObject j)
                    {
                        yield return j;
                    }
                }
            }
        }
    }
}
