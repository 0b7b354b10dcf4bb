using System;
using System.Collections.Generic;
using System.Linq;
using System.IO;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>
    /// A VMState description as QEMU's JSON VM description gives it (docs/formats §8.9): the fields
    /// written, with the bytes each takes, and the subsections that were sent.
    /// </summary>
    internal sealed class VmsdDescription
    {
        public VmsdDescription(string name, int version, IReadOnlyList<VmsdField> fields, IReadOnlyList<VmsdDescription> subsections)
        {
            Name = name;
            Version = version;
            Fields = ReadOnlyView.Of(fields);
            Subsections = ReadOnlyView.Of(subsections);
        }

        public string Name { get; }

        public int Version { get; }

        public IReadOnlyList<VmsdField> Fields { get; }

        public IReadOnlyList<VmsdDescription> Subsections { get; }

        /// <summary>Reads a description object (a device, a struct or a subsection).</summary>
        /// <exception cref="FormatException">A member is missing or has the wrong JSON type.</exception>
        public static VmsdDescription FromJson(JsonObject obj, string fallbackName, int depth = 0)
        {
            if (depth > 64)
            {
                throw new FormatException("VM description nested deeper than 64 structs.");
            }

            string name = obj.TryGetValue("vmsd_name", out object? n) && n is string s ? s : fallbackName;
            int version = obj.TryGetValue("version", out object? v) && v is long l ? checked((int)l) : 0;
            var fields = new List<VmsdField>();
            if (obj.TryGetValue("fields", out object? f) && f is List<object?> list)
            {
                foreach (object? item in list)
                {
                    fields.Add(VmsdField.FromJson(item as JsonObject ?? throw new FormatException("A field of '" + name + "' is not an object."), depth));
                }
            }

            var subsections = new List<VmsdDescription>();
            if (obj.TryGetValue("subsections", out object? ss) && ss is List<object?> sublist)
            {
                foreach (object? item in sublist)
                {
                    subsections.Add(FromJson(item as JsonObject ?? throw new FormatException("A subsection of '" + name + "' is not an object."), name, depth + 1));
                }
            }

            return new VmsdDescription(name, version, fields, subsections);
        }
    }

    internal sealed class VmsdField
    {
        public VmsdField(string name, string type, int size, int arrayLength, int? index, VmsdDescription? structDescription)
        {
            Name = name;
            Type = type;
            Size = size;
            ArrayLength = arrayLength;
            Index = index;
            Struct = structDescription;
        }

        public string Name { get; }

        public string Type { get; }

        /// <summary>Bytes written for one element.</summary>
        public int Size { get; }

        /// <summary>Elements written (1 for a scalar); the JSON's array_len.</summary>
        public int ArrayLength { get; }

        /// <summary>The JSON's index, for an array element written uncompressed.</summary>
        public int? Index { get; }

        /// <summary>Nested description of a struct or tmp field.</summary>
        public VmsdDescription? Struct { get; }

        public static VmsdField FromJson(JsonObject obj, int depth)
        {
            string name = obj.TryGetValue("name", out object? n) && n is string s ? s : throw new FormatException("A field has no name.");
            string type = obj.TryGetValue("type", out object? t) && t is string ts ? ts : "unknown";
            long size = obj.TryGetValue("size", out object? z) && z is long zl ? zl : 0;
            long arrayLength = obj.TryGetValue("array_len", out object? a) && a is long al ? al : 1;
            int? index = obj.TryGetValue("index", out object? i) && i is long il ? checked((int)il) : null;
            if (size < 0 || size > Limits.MaxQemuSectionBody || arrayLength < 0 || arrayLength > Limits.MaxQemuSectionBody)
            {
                throw new FormatException("Field '" + name + "' has an impossible size or array length.");
            }

            VmsdDescription? nested = null;
            if (obj.TryGetValue("struct", out object? st) && st is JsonObject so)
            {
                nested = VmsdDescription.FromJson(so, name, depth + 1);
            }
            else if (type == "tmp" && obj.ContainsKey("fields"))
            {
                // A tmp field describes its fields inline, on the field itself.
                nested = VmsdDescription.FromJson(obj, name, depth + 1);
            }

            return new VmsdField(name, type, (int)size, (int)arrayLength, index, nested);
        }
    }

    /// <summary>
    /// The stream's JSON VM description: the device descriptions in stream order, found by idstr and
    /// instance id.
    /// </summary>
    internal sealed class QemuVmDescription
    {
        private readonly Dictionary<(string, long), VmsdDescription> _devices = new Dictionary<(string, long), VmsdDescription>();

        private QemuVmDescription(string json) => Json = json;

        public string Json { get; }

        public static QemuVmDescription Parse(string json)
        {
            var root = JsonText.Parse(json) as JsonObject ?? throw new FormatException("The VM description is not a JSON object.");
            var devices = root.TryGetValue("devices", out object? d) && d is List<object?> list ? list : new List<object?>();
            var result = new QemuVmDescription(json);
            foreach (object? item in devices)
            {
                if (item is not JsonObject dev || !dev.TryGetValue("name", out object? n) || n is not string name)
                {
                    throw new FormatException("A device of the VM description has no name.");
                }

                long instance = dev.TryGetValue("instance_id", out object? i) && i is long il ? il : 0;
                result._devices[(name, instance)] = VmsdDescription.FromJson(dev, name);
            }

            return result;
        }

        public VmsdDescription? Find(string idstr, long instance) =>
            _devices.TryGetValue((idstr, instance), out VmsdDescription? desc) ? desc : null;
    }

    /// <summary>
    /// The built-in table: descriptions of QEMU 7.2's x86 devices (pc and q35 machine types), taken from
    /// the JSON descriptions of real QEMU 7.2 streams by tools/harvest-vmstate.py. Used for streams that
    /// carry no description: Xen's xen-save-devices-state, suppress-vmdesc, old machine types, pipes.
    /// </summary>
    internal static class VmsdBuiltIn
    {
        private static readonly Lazy<Table> Instance = new Lazy<Table>(Load);

        /// <summary>The description of a device section by idstr and saved version, or null.</summary>
        public static VmsdDescription? FindDevice(string idstr, int version)
        {
            string baseName = idstr;
            int slash = idstr.LastIndexOf('/');
            if (slash >= 0)
            {
                baseName = idstr.Substring(slash + 1);
            }

            return Instance.Value.Devices.TryGetValue((baseName, version), out VmsdDescription? d) ? d : null;
        }

        /// <summary>
        /// The description of a device section, then the layouts older machine types give it: QEMU's
        /// compat properties (hw_compat_* in hw/core/machine.c, pc_compat_* in hw/i386/pc.c) switch
        /// some plain fields off for old machine types, and a stream without a JSON description does
        /// not say which machine type wrote it. Subsections need nothing: they are named in the stream.
        /// </summary>
        public static IEnumerable<VmsdDescription> FindDeviceLayouts(string idstr, int version)
        {
            if (FindDevice(idstr, version) is not VmsdDescription d)
            {
                yield break;
            }

            yield return d;

            // Compat properties accumulate: a machine type has those of every newer one, so each
            // step back drops the fields of one more entry (newest first).
            string baseName = idstr.Substring(idstr.LastIndexOf('/') + 1);
            var dropped = new HashSet<string>(StringComparer.Ordinal);
            foreach ((string device, string field, string _) in s_compatFields)
            {
                if (device == baseName && d.Fields.Any(f => f.Name == field))
                {
                    dropped.Add(field);
                    yield return new VmsdDescription(d.Name, d.Version, d.Fields.Where(f => !dropped.Contains(f.Name)).ToList(), d.Subsections);
                }
            }
        }

        // Plain fields that compat properties of older machine types leave out of the stream, newest
        // compat first (QEMU 7.2's hw/core/machine.c).
        private static readonly (string Device, string Field, string Why)[] s_compatFields =
        {
            // hw_compat_6_0: { "PIIX4_PM", "x-not-migrate-acpi-index", "true" } (VMSTATE_UINT32_TEST in hw/acpi/pcihp.c)
            ("piix4_pm", "acpi_pci_hotplug.acpi_index", "machine types 6.0 and older (x-not-migrate-acpi-index)"),
            // hw_compat_6_0: { "ICH9-LPC", "x-not-migrate-acpi-index", "true" }
            ("ICH9LPC", "pm.acpi_pci_hotplug.acpi_index", "machine types 6.0 and older (x-not-migrate-acpi-index)"),
            // hw_compat_2_12: { "PIIX4_PM", "x-not-migrate-smbus", "true" } (VMSTATE_STRUCT_TEST(smb, ...) in hw/acpi/piix4.c)
            ("piix4_pm", "smb", "machine types 2.12 and older (x-not-migrate-smbus)"),
        };

        /// <summary>A subsection's description by name, or null.</summary>
        public static VmsdDescription? FindSubsection(string name) =>
            Instance.Value.Subsections.TryGetValue(name, out VmsdDescription? d) ? d : null;

        private sealed class Table
        {
            public Dictionary<(string, int), VmsdDescription> Devices { get; } = new Dictionary<(string, int), VmsdDescription>();

            public Dictionary<string, VmsdDescription> Subsections { get; } = new Dictionary<string, VmsdDescription>(StringComparer.Ordinal);
        }

        private static Table Load()
        {
            var table = new Table();
            using Stream stream = typeof(VmsdBuiltIn).Assembly.GetManifestResourceStream("XenMigration.Qemu.vmstate-7.2.json")
                ?? throw new InvalidOperationException("The built-in VMState table is missing from the assembly.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var root = (JsonObject)JsonText.Parse(reader.ReadToEnd())!;
            foreach (object? item in (List<object?>)root["devices"]!)
            {
                var dev = (JsonObject)item!;
                string idBase = (string)dev["idstr"]!;
                VmsdDescription desc = VmsdDescription.FromJson(dev, idBase);
                table.Devices[(idBase, desc.Version)] = desc;
            }

            foreach (object? item in (List<object?>)root["subsections"]!)
            {
                VmsdDescription desc = VmsdDescription.FromJson((JsonObject)item!, "?");
                table.Subsections[desc.Name] = desc;
            }

            return table;
        }
    }
}
