using System.Globalization;
using System.IO;
using XenMigration.Legacy;
using XenMigration.Libxc;
using XenMigration.Rules;

namespace XenMigration.Verification
{
    /// <summary>
    /// Verifies a legacy (Xen 4.5 and older) image the way xl restores one: libxl converts it with
    /// convert-legacy-stream first. The image is valid when this module's converter (byte-identical
    /// to Xen's) converts it completely, guest type and toolstack width detected; nothing is written.
    /// </summary>
    internal static class LegacyVerification
    {
        public static XenStreamValidationResult Verify(Stream input, XenStreamVerifierOptions options)
        {
            var issues = new IssueList(options.SourcePath);
            LegacyConversionResult? conversion = null;
            var counting = new CountingStream(input);
            try
            {
                conversion = LegacyStreamConverter.Convert(counting, Stream.Null, new LegacyConversionOptions
                {
                    GuestType = XenGuestType.Reserved,
                    Progress = options.Progress,
                    CancellationToken = options.CancellationToken,
                });
                issues.Add(XenIssueCodes.LegacyImage, 0, null, null, string.Format(
                    CultureInfo.InvariantCulture,
                    "a legacy (Xen 4.5 and older) {0} image saved by a {1}-bit toolstack{2}: xl restore converts it before restoring, and it converts cleanly ({3} pages in {4} batches)",
                    conversion.GuestType == XenGuestType.Pv ? "PV" : "HVM",
                    conversion.Width,
                    conversion.HadXlHeader ? " behind an xl header" : string.Empty,
                    conversion.Pages,
                    conversion.PageBatches));
            }
            catch (XenFormatException ex)
            {
                issues.Add(ex.ErrorId, ex.Offset, null, null, "as a legacy image: " + ex.Message, XenIssueSeverity.Error);
            }

            var list = issues.Finish();
            return new XenStreamValidationResult(options.SourcePath, options.Strict, list, issues.Errors, issues.Warnings, issues.Information)
            {
                Format = DetectedFormat.LegacyLibxc,
                GuestType = conversion?.GuestType,
                PageCount = conversion?.Pages ?? 0,
                BytesRead = counting.BytesRead,
                FileLength = input.CanSeek ? input.Length : null,
            };
        }

        // Counts what the converter reads, for the result's BytesRead.
        private sealed class CountingStream : Framing.ForwardReadStream
        {
            private readonly Stream _inner;

            public CountingStream(Stream inner) => _inner = inner;

            public long BytesRead { get; private set; }

            public override int Read(byte[] buffer, int offset, int count)
            {
                int n = _inner.Read(buffer, offset, count);
                BytesRead += n;
                return n;
            }
        }
    }
}
