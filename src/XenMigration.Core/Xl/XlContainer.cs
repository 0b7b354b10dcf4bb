using System;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Xl
{
    /// <summary>
    /// The xl save file as a container (docs/formats §1): its header, then the libxl v2 stream that
    /// STREAMv2 promises. Whatever Xen stream really follows is read if it can be (a libxc stream
    /// directly after the header is what Xen's verifier accepts); the verifier reports the mismatch.
    /// A legacy stream (no STREAMv2, no magic) is refused here: it must be converted first.
    /// </summary>
    internal sealed class XlContainer : IContainerDecoder
    {
        private XlHeaderRecord? _header;
        private bool _embeddedRead;

        public XenStreamRecord? ReadNext(IRecordDecoding d, out bool embeddedFollows)
        {
            embeddedFollows = false;
            if (_header is null)
            {
                _header = ReadHeader(d);
                return _header;
            }

            if (_embeddedRead)
            {
                return null;   // xl has nothing after its stream
            }

            _embeddedRead = true;
            embeddedFollows = CheckWhatFollows(d, _header);
            return null;
        }

        private static XlHeaderRecord ReadHeader(IRecordDecoding d)
        {
            StreamSource source = d.Source;
            long offset = source.Position;
            const string Name = nameof(XenRecordType.XlHeader);
            if (!source.TryRead(XlFormat.HeaderSize, out ReadOnlySpan<byte> fixedPart))
            {
                throw d.HeaderTruncated(Name, offset);
            }

            Exception Error(string id, string detail) => d.HeaderError(id, Name, offset, detail);
            XlHeaderDecoder.FixedPart h = XlHeaderDecoder.DecodeFixed(fixedPart, Error);
            uint optionalLength = h.OptionalLength;
            d.RequireRemaining(optionalLength, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of optional data", optionalLength));
            byte[] optionalData = optionalLength == 0
                ? Array.Empty<byte>()
                : source.ReadArray((int)optionalLength) ?? throw d.HeaderTruncated(Name, offset);
            (uint? configLength, byte[]? config) = XlHeaderDecoder.DecodeOptional(optionalData, h.BigEndian, Error);
            return new XlHeaderRecord(d.Header(offset, XenLayer.Xl, XenRecordType.XlHeader, XlFormat.HeaderSize + optionalLength), h.Order, h.MandatoryFlags, h.OptionalFlags, optionalLength, configLength, config);
        }

        // STREAMv2 promises a libxl stream; a libxc one is read too. Anything else is an error here.
        private static bool CheckWhatFollows(IRecordDecoding d, XlHeaderRecord header)
        {
            long offset = d.Source.Position;
            ReadOnlySpan<byte> head = d.Source.Peek(FormatDetector.ProbeLength);
            switch (FormatDetector.Detect(head))
            {
                case DetectedFormat.Libxl:
                case DetectedFormat.Libxc:
                    return true;
                case DetectedFormat.Empty:
                    throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: nothing follows the xl header.", offset), offset, d.RecordIndex);
            }

            if (!header.IsStreamV2)
            {
                throw new XenUnsupportedFormatException(
                    DetectedFormat.LegacyLibxc,
                    string.Format(CultureInfo.InvariantCulture, "The xl header has no STREAMv2 flag: the image at offset {0} is a legacy (Xen 4.5 and older) stream, which must be converted to a v2 stream before it can be read.", offset),
                    offset);
            }

            throw d.HeaderError(XenErrorIds.InvalidHeader, "LibxlHeader", offset, "the xl header announces a libxl v2 stream (STREAMv2) but the bytes that follow are not one (" + HexText.Of(head) + ")");
        }
    }
}
