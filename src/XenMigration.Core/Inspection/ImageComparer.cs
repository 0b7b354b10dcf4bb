using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Security.Cryptography;
using System.Threading;
using System.Xml;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Images;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.Inspection
{
    /// <summary>The parts of an image Compare-XenStream compares.</summary>
    [Flags]
    public enum XenImagePart
    {
        /// <summary>Nothing.</summary>
        None = 0,
        /// <summary>The domain configuration (xl JSON or text, libvirt XML), by path in it.</summary>
        Config = 1 << 0,
        /// <summary>Headers: formats, versions, guest type and width, xl flags.</summary>
        Header = 1 << 1,
        /// <summary>HVM_PARAMS, by parameter name.</summary>
        HvmParams = 1 << 2,
        /// <summary>X86_TSC_INFO.</summary>
        TscInfo = 1 << 3,
        /// <summary>X86_CPUID_POLICY, by leaf.</summary>
        CpuidPolicy = 1 << 4,
        /// <summary>X86_MSR_POLICY, by MSR.</summary>
        MsrPolicy = 1 << 5,
        /// <summary>The HVM context, entry by entry and field by field.</summary>
        HvmContext = 1 << 6,
        /// <summary>PV vCPU contexts, field by field.</summary>
        PvVcpu = 1 << 7,
        /// <summary>QEMU's device state (EMULATOR_CONTEXT, or the sections of a QEMU image), field by field.</summary>
        Qemu = 1 << 8,
        /// <summary>EMULATOR_XENSTORE_DATA, by key.</summary>
        Xenstore = 1 << 9,
        /// <summary>Guest memory, by page (only when asked for: every page is read and hashed).</summary>
        Memory = 1 << 10,
        /// <summary>Everything but memory.</summary>
        AllButMemory = Config | Header | HvmParams | TscInfo | CpuidPolicy | MsrPolicy | HvmContext | PvVcpu | Qemu | Xenstore,
    }

    /// <summary>One difference between two images (Compare-XenStream), shaped like Compare-Object's output.</summary>
    public sealed class XenStreamDifference
    {
        internal XenStreamDifference(XenImagePart part, string path, string? reference, string? difference)
        {
            Part = part;
            Path = path;
            ReferenceValue = reference;
            DifferenceValue = difference;
        }

        /// <summary>Which part of the image.</summary>
        public XenImagePart Part { get; }

        /// <summary>Where in it: Hpet[0].Timers[0].Periodic, config.b_info.max_memkb, hpet[0].timer[0].config.</summary>
        public string Path { get; }

        /// <summary>The value in the reference image; null when only the difference image has it.</summary>
        public string? ReferenceValue { get; }

        /// <summary>The value in the difference image; null when only the reference image has it.</summary>
        public string? DifferenceValue { get; }

        /// <summary>&lt;= (only in the reference), =&gt; (only in the difference), &lt;&gt; (in both, different), as Compare-Object says it.</summary>
        public string SideIndicator => ReferenceValue is null ? "=>" : DifferenceValue is null ? "<=" : "<>";

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} {1}: {2} {3} {4}", Part, Path, ReferenceValue ?? "(none)", SideIndicator, DifferenceValue ?? "(none)");
    }

    /// <summary>
    /// Compares two images part by part: each is read into a table of (part, path) → value, the
    /// tables are compared, and every path whose value differs or that one side lacks is a
    /// difference. Memory, when asked for, is a SHA-256 per page (last copy), compared by frame
    /// and reported as runs of differing frames: memory use is the frame count, not the size.
    /// </summary>
    internal static class ImageComparer
    {
        public static List<XenStreamDifference> Compare(string reference, string difference, XenImagePart parts, CancellationToken cancel = default)
        {
            SortedDictionary<(XenImagePart, string), string> a = Facts(reference, parts, cancel), b = Facts(difference, parts, cancel);
            var result = new List<XenStreamDifference>();
            var keys = new SortedSet<(XenImagePart, string)>(a.Keys, Comparer<(XenImagePart, string)>.Create(Order));
            keys.UnionWith(b.Keys);
            foreach (var key in keys)
            {
                a.TryGetValue(key, out string? x);
                b.TryGetValue(key, out string? y);
                if (!string.Equals(x, y, StringComparison.Ordinal))
                {
                    result.Add(new XenStreamDifference(key.Item1, key.Item2, x, y));
                }
            }

            if ((parts & XenImagePart.Memory) != 0)
            {
                result.AddRange(CompareMemory(reference, difference, cancel));
            }

            return result;
        }

        private static int Order((XenImagePart Part, string Path) x, (XenImagePart Part, string Path) y)
        {
            int c = x.Part.CompareTo(y.Part);
            return c != 0 ? c : string.CompareOrdinal(x.Path, y.Path);
        }

        /// <summary>The image as (part, path) → value.</summary>
        internal static SortedDictionary<(XenImagePart, string), string> Facts(string path, XenImagePart parts, CancellationToken cancel)
        {
            var facts = new SortedDictionary<(XenImagePart, string), string>(Comparer<(XenImagePart, string)>.Create(Order));
            void Add(XenImagePart part, string key, object? value)
            {
                if ((parts & part) != 0 && value is not null)
                {
                    facts[(part, key)] = Format(value);
                }
            }

            using FileStream stream = XenFile.OpenRead(path);
            Stream input = stream.CanSeek ? stream : new PeekStream(stream);
            DetectedFormat format = FormatDetector.Detect(PeekStream.Probe(input, FormatDetector.ProbeLength));
            Add(XenImagePart.Header, "Format", format);
            if (format is DetectedFormat.QemuSavevm or DetectedFormat.LibvirtSave || FormatDetector.IsCompressed(format))
            {
                using QemuImage image = QemuImage.Open(input, leaveOpen: true, new QemuStreamReaderOptions { SourcePath = path, CancellationToken = cancel });
                if (image.Libvirt is not null)
                {
                    AddXml(Add, image.Libvirt.Xml);
                }

                AddQemu(Add, image);
                return facts;
            }

            using var reader = new XenStreamReader(input, leaveOpen: true, new XenStreamReaderOptions { SourcePath = path });
            XenStreamRecord? r;
            while ((r = reader.ReadNext()) is not null)
            {
                cancel.ThrowIfCancellationRequested();
                switch (r)
                {
                    case XlHeaderRecord xl:
                        Add(XenImagePart.Header, "Xl.Flags", xl.MandatoryFlags);
                        if (xl.Config is string text && (parts & XenImagePart.Config) != 0)
                        {
                            if (xl.ConfigFormat == XlConfigFormat.Json && JsonText.Parse(text) is object json)
                            {
                                AddJson(Add, "config", json);
                            }
                            else if (DomainConfig.FromXl(text, json: false) is not null)
                            {
                                foreach (string line in text.Split('\n'))
                                {
                                    int eq = line.IndexOf('=');
                                    if (eq > 0 && !line.TrimStart().StartsWith("#", StringComparison.Ordinal))
                                    {
                                        Add(XenImagePart.Config, "config." + line.Substring(0, eq).Trim(), line.Substring(eq + 1).Trim());
                                    }
                                }
                            }
                        }

                        break;
                    case LibxlHeaderRecord l:
                        Add(XenImagePart.Header, "Libxl.Version", l.Version);
                        Add(XenImagePart.Header, "Libxl.Options", l.Options);
                        break;
                    case ImageHeaderRecord i:
                        Add(XenImagePart.Header, "Libxc.Version", i.Version);
                        break;
                    case DomainHeaderRecord d:
                        Add(XenImagePart.Header, "GuestType", d.GuestType);
                        Add(XenImagePart.Header, "XenVersion", d.XenVersion?.ToString() ?? "converted");
                        Add(XenImagePart.Header, "PageShift", d.PageShift);
                        break;
                    case PvInfoRecord pv:
                        Add(XenImagePart.Header, "GuestWidth", pv.GuestWidth);
                        break;
                    case HvmParamsRecord h:
                        foreach (HvmParam p in h.Params)
                        {
                            Add(XenImagePart.HvmParams, p.Name, p.Value);
                        }

                        break;
                    case TscInfoRecord t:
                        Add(XenImagePart.TscInfo, "Mode", t.Mode);
                        Add(XenImagePart.TscInfo, "Khz", t.Khz);
                        Add(XenImagePart.TscInfo, "Nanoseconds", t.Nanoseconds);
                        Add(XenImagePart.TscInfo, "Incarnation", t.Incarnation);
                        break;
                    case CpuidPolicyRecord c:
                        foreach (CpuidLeaf leaf in c.Leaves)
                        {
                            Add(XenImagePart.CpuidPolicy, leaf.Subleaf == CpuidLeaf.NoSubleaf ? Hex(leaf.Leaf) : Hex(leaf.Leaf) + "." + Hex(leaf.Subleaf), string.Format(CultureInfo.InvariantCulture, "eax 0x{0:x} ebx 0x{1:x} ecx 0x{2:x} edx 0x{3:x}", leaf.Eax, leaf.Ebx, leaf.Ecx, leaf.Edx));
                        }

                        break;
                    case MsrPolicyRecord m:
                        foreach (MsrEntry e in m.Entries)
                        {
                            Add(XenImagePart.MsrPolicy, Hex(e.Index), e.Value);
                        }

                        break;
                    case PvVcpuRecord v when (parts & XenImagePart.PvVcpu) != 0:
                        Flatten((k, val) => Add(XenImagePart.PvVcpu, k, val), string.Format(CultureInfo.InvariantCulture, "{0}[{1}]", v.Type, v.VcpuId), v.ReadContext(), 0);
                        break;
                    case EmulatorXenstoreDataRecord x:
                        foreach (XenstoreKeyValue kv in x.Entries)
                        {
                            Add(XenImagePart.Xenstore, kv.Key, kv.Value);
                        }

                        break;
                    case EmulatorContextRecord e when (parts & XenImagePart.Qemu) != 0:
                        using (QemuImage q = QemuImage.OpenXenRecord(e))
                        {
                            AddQemu(Add, q);
                        }

                        break;
                }

                if (r.Type == XenRecordType.HvmContext && (parts & XenImagePart.HvmContext) != 0)
                {
                    foreach (HvmContextEntry e in HvmContextDecoder.DecodeRecord(r))
                    {
                        Flatten((k, val) => Add(XenImagePart.HvmContext, k, val), string.Format(CultureInfo.InvariantCulture, "{0}[{1}]", e.TypeCode, e.Instance), e, 0);
                    }
                }
            }

            return facts;
        }

        private static void AddQemu(Action<XenImagePart, string, object?> add, QemuImage image)
        {
            QemuRecord? r;
            while ((r = image.Reader.ReadNext()) is not null)
            {
                if (r is QemuSection { State: QemuVmState state } s)
                {
                    AddState(add, string.Format(CultureInfo.InvariantCulture, "{0}[{1}]", s.IdStr, s.InstanceId), state);
                }
            }
        }

        private static void AddState(Action<XenImagePart, string, object?> add, string prefix, QemuVmState state)
        {
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (QemuField f in state.Fields)
            {
                string name = f.Index is int i ? f.Name + "[" + i.ToString(CultureInfo.InvariantCulture) + "]" : f.Name;
                seen.TryGetValue(name, out int n);
                seen[name] = n + 1;
                string key = prefix + "." + (n == 0 ? name : name + "#" + n.ToString(CultureInfo.InvariantCulture));
                if (f.Struct is QemuVmState nested)
                {
                    AddState(add, key, nested);
                }
                else
                {
                    add(XenImagePart.Qemu, key, f.Text);
                }
            }

            foreach (QemuVmState sub in state.Subsections)
            {
                AddState(add, prefix + "/" + sub.Name, sub);
            }
        }

        private static void AddJson(Action<XenImagePart, string, object?> add, string prefix, object? value)
        {
            switch (value)
            {
                case JsonObject o:
                    foreach (var m in o.Members)
                    {
                        AddJson(add, prefix + "." + m.Key, m.Value);
                    }

                    break;
                case List<object?> list:
                    for (int i = 0; i < list.Count; i++)
                    {
                        AddJson(add, prefix + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", list[i]);
                    }

                    break;
                default:
                    add(XenImagePart.Config, prefix, value is bool b ? (b ? "true" : "false") : value?.ToString() ?? "null");
                    break;
            }
        }

        private static void AddXml(Action<XenImagePart, string, object?> add, string xml)
        {
            var doc = new XmlDocument { XmlResolver = null };
            try
            {
                using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
                doc.Load(reader);
            }
            catch (XmlException)
            {
                add(XenImagePart.Config, "xml", xml);
                return;
            }

            void Walk(XmlElement e, string prefix)
            {
                foreach (XmlAttribute a in e.Attributes)
                {
                    add(XenImagePart.Config, prefix + "@" + a.Name, a.Value);
                }

                var counts = new Dictionary<string, int>(StringComparer.Ordinal);
                bool children = false;
                foreach (XmlNode n in e.ChildNodes)
                {
                    if (n is XmlElement c)
                    {
                        children = true;
                        counts.TryGetValue(c.Name, out int k);
                        counts[c.Name] = k + 1;
                        Walk(c, prefix + "." + c.Name + (k == 0 ? string.Empty : "[" + k.ToString(CultureInfo.InvariantCulture) + "]"));
                    }
                }

                if (!children && e.InnerText.Trim().Length > 0)
                {
                    add(XenImagePart.Config, prefix, e.InnerText.Trim());
                }
            }

            if (doc.DocumentElement is XmlElement root)
            {
                Walk(root, root.Name);
            }
        }

        // Where an entry's meaning is: its public properties (the place, the file and summaries are not).
        private static readonly HashSet<string> s_skip = new HashSet<string>(StringComparer.Ordinal)
        {
            "FilePath", "RecordIndex", "Checkpoint", "TypeCode", "Name", "Instance", "Offset", "Length", "Summary", "Source", "Registers", "OffsetHex",
        };

        private static void Flatten(Action<string, object?> add, string prefix, object? value, int depth)
        {
            if (value is null || depth > 6)
            {
                return;
            }

            Type t = value.GetType();
            if (IsLeaf(t))
            {
                add(prefix, value);
                return;
            }

            if (value is IEnumerable list && value is not string)
            {
                int i = 0;
                foreach (object? item in list)
                {
                    if (i >= 4096)
                    {
                        break;
                    }

                    Flatten(add, prefix + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", item, depth + 1);
                    i++;
                }

                return;
            }

            foreach (PropertyInfo p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (p.GetIndexParameters().Length > 0 || (depth == 0 && s_skip.Contains(p.Name)) || p.Name == "Summary")
                {
                    continue;
                }

                object? v;
                try
                {
                    v = p.GetValue(value);
                }
                catch (TargetInvocationException)
                {
                    continue;
                }

                Flatten(add, prefix + "." + p.Name, v, depth + 1);
            }
        }

        private static bool IsLeaf(Type t) => t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(Guid) || t == typeof(Version) || t == typeof(DateTime);

        private static string Format(object value) => value switch
        {
            ulong u => "0x" + u.ToString("x", CultureInfo.InvariantCulture),
            uint u => "0x" + u.ToString("x", CultureInfo.InvariantCulture),
            ushort u => "0x" + u.ToString("x", CultureInfo.InvariantCulture),
            bool b => b ? "True" : "False",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };

        private static string Hex(uint v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

        // Memory: a hash per frame of each image (last copy), compared by frame; runs of differing frames.
        private static IEnumerable<XenStreamDifference> CompareMemory(string reference, string difference, CancellationToken cancel)
        {
            Dictionary<ulong, byte[]> a = PageHashes(reference, cancel), b = PageHashes(difference, cancel);
            var pfns = new SortedSet<ulong>(a.Keys);
            pfns.UnionWith(b.Keys);
            ulong? start = null, last = 0;
            string? kind = null;
            var result = new List<XenStreamDifference>();
            void Flush()
            {
                if (start is ulong s)
                {
                    result.Add(new XenStreamDifference(XenImagePart.Memory, string.Format(CultureInfo.InvariantCulture, "pfn 0x{0:x}-0x{1:x}", s, last), kind == "=>" ? null : string.Format(CultureInfo.InvariantCulture, "{0} pages", last - s + 1), kind == "<=" ? null : string.Format(CultureInfo.InvariantCulture, "{0} pages", last - s + 1)));
                }

                start = null;
            }

            foreach (ulong pfn in pfns)
            {
                bool inA = a.TryGetValue(pfn, out byte[]? ha), inB = b.TryGetValue(pfn, out byte[]? hb);
                string? k = inA && inB ? (ha!.AsSpan().SequenceEqual(hb) ? null : "<>") : inA ? "<=" : "=>";
                if (k is null || k != kind || pfn != last + 1)
                {
                    Flush();
                }

                if (k is not null)
                {
                    start ??= pfn;
                    kind = k;
                    last = pfn;
                }
            }

            Flush();
            return result;
        }

        private static Dictionary<ulong, byte[]> PageHashes(string path, CancellationToken cancel)
        {
            var hashes = new Dictionary<ulong, byte[]>();
            using FileStream stream = XenFile.OpenRead(path);
            XenMigration.Memory.XenMemoryImage image = XenMigration.Memory.XenMemoryImage.Scan(stream, path, new XenMigration.Memory.XenMemoryOptions { CancellationToken = cancel });
            using var sha = SHA256.Create();
            byte[] page = new byte[4096];
            foreach (var (pfn, kind) in image.Frames())
            {
                if (kind != XenMigration.Memory.GuestMemoryKind.Absent && image.ReadPage(pfn, page))
                {
                    byte[] h = sha.ComputeHash(page);
                    hashes[pfn] = h.AsSpan(0, 16).ToArray();   // 128 bits are plenty to tell pages apart
                }
            }

            return hashes;
        }
    }
}
