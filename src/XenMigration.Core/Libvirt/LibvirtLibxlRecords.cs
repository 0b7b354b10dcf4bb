using System.Globalization;
using XenMigration.Records;

namespace XenMigration.Libvirt
{
    /// <summary>libvirt's libxl driver save header: magic, version, the domain XML; a libxl stream follows.</summary>
    public sealed class LibvirtLibxlHeaderRecord : XenStreamRecord
    {
        internal LibvirtLibxlHeaderRecord(in RecordContext context, uint version, string xml)
            : base(context)
        {
            Version = version;
            Xml = xml;
        }

        /// <summary>The header version (1, or 2 with a compression field libvirt's libxl driver leaves unused).</summary>
        public uint Version { get; }

        /// <summary>The domain XML.</summary>
        public string Xml { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "libvirt libxl save, version {0}, {1} bytes of domain XML", Version, Xml.Length);
    }
}
