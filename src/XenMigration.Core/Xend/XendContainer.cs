using System;
using System.Globalization;
using System.Text;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Xend
{
    /// <summary>The header of a xend save image: the signature, the length and the domain config as SXP.</summary>
    public sealed class XendConfigRecord : XenStreamRecord
    {
        internal XendConfigRecord(in RecordContext context, string sxp, XendDomainConfig? config)
            : base(context)
        {
            Sxp = sxp;
            Name = config?.Name;
            Uuid = config?.Uuid;
            GuestType = config?.GuestType;
            MemoryMiB = config?.MemoryMiB;
            MaxMemoryMiB = config?.MaxMemoryMiB;
            Vcpus = config?.Vcpus;
            IsParsed = config is not null;
        }

        /// <summary>The domain config as xend wrote it (an SXP S-expression).</summary>
        public string Sxp { get; }

        /// <summary>True when the SXP is a well-formed (domain ...) expression.</summary>
        public bool IsParsed { get; }

        /// <summary>The domain's name.</summary>
        public string? Name { get; }

        /// <summary>The domain's UUID.</summary>
        public string? Uuid { get; }

        /// <summary>hvm or pv.</summary>
        public string? GuestType { get; }

        /// <summary>(memory N), MiB.</summary>
        public long? MemoryMiB { get; }

        /// <summary>(maxmem N), MiB.</summary>
        public long? MaxMemoryMiB { get; }

        /// <summary>(vcpus N).</summary>
        public long? Vcpus { get; }

        /// <summary>The config as xl config text, as ConvertTo-XenStreamV2 writes it into the xl header.</summary>
        public string? XlConfig => XendDomainConfig.Parse(Sxp)?.ToXlText();

        /// <inheritdoc/>
        public override string Summary => IsParsed
            ? string.Format(CultureInfo.InvariantCulture, "xend image of {0} ({1}, {2} MiB, {3} vCPUs): a legacy stream follows", Name ?? "?", GuestType ?? "?", MemoryMiB?.ToString(CultureInfo.InvariantCulture) ?? "?", Vcpus?.ToString(CultureInfo.InvariantCulture) ?? "?")
            : "xend image, config not a (domain ...) expression: a legacy stream follows";
    }

    /// <summary>
    /// A xend save image as a container: its header is one record; the legacy stream after it must
    /// be converted (ConvertTo-XenStreamV2) before it can be read as records, as with the classic
    /// XenServer image.
    /// </summary>
    internal sealed class XendContainer : IContainerDecoder
    {
        private bool _started;

        public XenStreamRecord? ReadNext(IRecordDecoding d, out bool embeddedFollows)
        {
            embeddedFollows = false;
            StreamSource source = d.Source;
            long offset = source.Position;
            const string Name = nameof(XenRecordType.XendConfig);
            if (_started)
            {
                throw new XenUnsupportedFormatException(DetectedFormat.LegacyLibxc, string.Format(CultureInfo.InvariantCulture, "The xend image holds a legacy (Xen 4.2 and older) stream at offset {0}, which must be converted to a v2 stream first (ConvertTo-XenStreamV2).", offset), offset);
            }

            _started = true;
            if (!source.TryRead(XendFormat.HeaderSize, out ReadOnlySpan<byte> h))
            {
                throw d.HeaderTruncated(Name, offset);
            }

            int length = XendFormat.ConfigLength(h, out string? error);
            if (error is not null)
            {
                throw d.HeaderError(XenErrorIds.InvalidHeader, Name, offset, error);
            }

            d.RequireRemaining(length, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of domain config", length));
            byte[] body = length == 0 ? Array.Empty<byte>() : source.ReadArray(length) ?? throw d.HeaderTruncated(Name, offset);
            string sxp = Encoding.UTF8.GetString(body);
            return new XendConfigRecord(d.Header(offset, XenLayer.Container, XenRecordType.XendConfig, XendFormat.HeaderSize + length), sxp, XendDomainConfig.Parse(sxp));
        }
    }
}
