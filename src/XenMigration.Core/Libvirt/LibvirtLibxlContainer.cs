using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libvirt
{
    /// <summary>
    /// The save file of libvirt's libxl driver as a container (docs/formats/containers.md §11): a 64-byte
    /// header (the 16-byte magic "libvirt-xml\n \0 \r", u32 version, u32 XML length, unused), the
    /// domain XML, then the libxl stream that libxl_domain_suspend wrote. Little-endian, as libvirt
    /// writes its structs on x86 (libxl_domain.c, libxlSavefileHeader).
    /// </summary>
    internal sealed class LibvirtLibxlContainer : IContainerDecoder
    {
        public const string Magic = "libvirt-xml\n \0 \r";
        public const int HeaderSize = 64;

        /// <summary>At most this much XML is read (libvirt's own domain XML limit is 10 MB).</summary>
        public const int MaxXml = 16 << 20;

        private bool _headerRead;
        private bool _streamRead;

        public static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, Magic);

        public XenStreamRecord? ReadNext(IRecordDecoding d, out bool embeddedFollows)
        {
            embeddedFollows = false;
            if (!_headerRead)
            {
                _headerRead = true;
                return ReadHeader(d);
            }

            if (!_streamRead)
            {
                _streamRead = true;
                embeddedFollows = true;
            }

            return null;
        }

        private static LibvirtLibxlHeaderRecord ReadHeader(IRecordDecoding d)
        {
            const string Name = nameof(XenRecordType.LibvirtLibxlHeader);
            long offset = d.Source.Position;
            if (!d.Source.TryRead(HeaderSize, out ReadOnlySpan<byte> h))
            {
                throw d.HeaderTruncated(Name, offset);
            }

            uint version = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(16));
            uint xmlLength = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(20));
            if (version is < 1 or > 2)
            {
                throw d.HeaderError(XenErrorIds.UnsupportedVersion, Name, offset, string.Format(CultureInfo.InvariantCulture, "version {0} (libvirt writes 1 and 2)", version));
            }

            if (xmlLength == 0 || xmlLength > MaxXml)
            {
                throw d.HeaderError(XenErrorIds.RecordTooLarge, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of domain XML (1 to {1} are accepted)", xmlLength, MaxXml));
            }

            d.RequireRemaining(xmlLength, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of domain XML", xmlLength));
            byte[] xml = d.Source.ReadArray((int)xmlLength) ?? throw d.HeaderTruncated(Name, offset);
            int end = Array.IndexOf(xml, (byte)0);
            string text = Encoding.UTF8.GetString(xml, 0, end < 0 ? xml.Length : end);
            return new LibvirtLibxlHeaderRecord(d.Header(offset, XenLayer.Container, XenRecordType.LibvirtLibxlHeader, HeaderSize + xmlLength), version, text);
        }
    }
}
