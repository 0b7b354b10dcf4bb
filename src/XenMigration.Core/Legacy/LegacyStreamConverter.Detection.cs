using System.Globalization;
using XenMigration.Framing;
using XenMigration.Libxc;

namespace XenMigration.Legacy
{
    internal static partial class LegacyStreamConverter
    {
        /// <summary>What the legacy format does not record: the guest type and the toolstack's width, detected from the first chunks.</summary>
        private sealed partial class Conversion
        {
            // The guest type, when not given: the one type whose layout the first chunks fit.
            private void ChooseGuestType()
            {
                _result.GuestType = _guest;
                if (_guest != XenGuestType.Reserved)
                {
                    return;
                }

                long at = _in.Position;
                byte[] head = _in.Peek(StreamSource.DefaultBufferSize).ToArray();
                bool Fits(XenGuestType type)
                {
                    LegacyWidthDetector.Detection d = LegacyWidthDetector.Detect(head, type);
                    return _options.Width switch
                    {
                        32 => d.Plausible32,
                        64 => d.Plausible64,
                        _ => d.Plausible32 || d.Plausible64,
                    };
                }

                bool pv = Fits(XenGuestType.Pv), hvm = Fits(XenGuestType.Hvm);
                if (pv == hvm)
                {
                    throw pv
                        ? new XenFormatException(XenErrorIds.AmbiguousGuestType, string.Format(CultureInfo.InvariantCulture, "The legacy image at offset {0} reads both as a PV and as an HVM image; give the guest type.", at), at)
                        : new XenFormatException(XenErrorIds.InvalidLegacyStream, string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is not a legacy Xen image of either guest type: as PV {1}; as HVM {2}.", at, LegacyWidthDetector.Detect(head, XenGuestType.Pv).Explanation, LegacyWidthDetector.Detect(head, XenGuestType.Hvm).Explanation), at);
                }

                _guest = pv ? XenGuestType.Pv : XenGuestType.Hvm;
                _pv = pv;
                _result.GuestType = _guest;
                _result.GuestTypeDetected = true;
                Log(string.Format(CultureInfo.InvariantCulture, "Guest type: {0} (detected)", pv ? "PV" : "HVM"));
            }

            private void ChooseWidth()
            {
                if (_options.Width is int given)
                {
                    _width = given;
                    _result.Width = given;
                    Log(string.Format(CultureInfo.InvariantCulture, "Toolstack width: {0}-bit (given)", given));
                    return;
                }

                long at = _in.Position;
                LegacyWidthDetector.Detection d = LegacyWidthDetector.Detect(_in.Peek(StreamSource.DefaultBufferSize), _guest);
                if (d.Width is not int width)
                {
                    throw WidthFailure(d, at);
                }

                _width = width;
                _result.Width = width;
                _result.WidthDetected = true;
                _result.WidthExplanation = d.Explanation;
                Log(string.Format(CultureInfo.InvariantCulture, "Toolstack width: {0}-bit (detected: {1})", width, d.Explanation));
            }

            // Width advice only helps when both widths parse. When neither does, the image is of the
            // other guest type or not a legacy image at all: say that instead.
            private XenFormatException WidthFailure(LegacyWidthDetector.Detection d, long at)
            {
                string kind = _pv ? "PV" : "HVM";
                if (d.Plausible32 || d.Plausible64)
                {
                    return new XenFormatException(XenErrorIds.AmbiguousWidth, string.Format(CultureInfo.InvariantCulture, "Cannot tell whether a 32- or a 64-bit toolstack saved the {0} image at offset {1}: {2}. Give the width of the toolstack that saved it.", kind, at, d.Explanation), at);
                }

                XenGuestType other = _pv ? XenGuestType.Hvm : XenGuestType.Pv;
                LegacyWidthDetector.Detection asOther = LegacyWidthDetector.Detect(_in.Peek(StreamSource.DefaultBufferSize), other);
                if (asOther.Plausible32 || asOther.Plausible64)
                {
                    return new XenFormatException(XenErrorIds.GuestTypeMismatch, string.Format(CultureInfo.InvariantCulture, "The legacy image at offset {0} is not a {1} image: as {1} {2}. It parses as {3} image; convert it as {4}.", at, kind, d.Explanation, other == XenGuestType.Pv ? "a PV" : "an HVM", other == XenGuestType.Pv ? "PV" : "HVM"), at);
                }

                return new XenFormatException(XenErrorIds.InvalidLegacyStream, string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is not a legacy Xen image of either guest type, written by a 32- or a 64-bit toolstack: as {1} {2}.", at, kind, d.Explanation), at);
            }
        }
    }
}
