using System;
using System.IO;
using System.Linq;
using XenMigration.FileIO;
using XenMigration.Legacy;
using XenMigration.Rules;
using XenMigration.Verification;

namespace XenMigration.Images
{
    /// <summary>What <see cref="ImageConversion.ConvertLegacyFile"/> did.</summary>
    internal sealed class LegacyFileConversionResult
    {
        internal LegacyFileConversionResult(LegacyConversionResult conversion, XenStreamValidationResult verification, string destination)
        {
            Conversion = conversion;
            Verification = verification;
            Destination = destination;
        }

        /// <summary>The conversion's figures (width, format, pages, bytes).</summary>
        public LegacyConversionResult Conversion { get; }

        /// <summary>The verification of the written stream (no errors, by construction).</summary>
        public XenStreamValidationResult Verification { get; }

        /// <summary>The file written.</summary>
        public string Destination { get; }
    }

    /// <summary>Conversions of whole image files: convert, verify, then commit.</summary>
    internal static class ImageConversion
    {
        /// <summary>
        /// Converts the legacy image <paramref name="inputPath"/> into <paramref name="destination"/>
        /// the safe way: the destination is checked first (<see cref="OutputFile.Check"/>), the stream
        /// is written to a temporary file beside it, verified, and only then moved into place
        /// (<see cref="OutputFile.Commit"/>). On any failure nothing is left behind and an existing
        /// destination is untouched.
        /// </summary>
        /// <exception cref="XenFormatException">The input cannot be converted, or the result fails verification (<see cref="XenErrorIds.ConversionFailedVerification"/>).</exception>
        /// <exception cref="DestinationException">The destination may not be written.</exception>
        public static LegacyFileConversionResult ConvertLegacyFile(string inputPath, string destination, LegacyConversionOptions options, CommitOptions commit)
        {
            if (inputPath is null || destination is null || commit is null || options is null)
            {
                throw new ArgumentNullException(inputPath is null ? nameof(inputPath) : destination is null ? nameof(destination) : options is null ? nameof(options) : nameof(commit));
            }

            destination = Path.GetFullPath(destination);
            OutputFile.Check(destination, inputPath, commit);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            using FileStream input = XenFile.OpenRead(inputPath);
            using AtomicFileWriter output = AtomicFileWriter.Create(destination);
            LegacyConversionResult result = LegacyStreamConverter.Convert(input, output.Stream, options);

            // The result must pass the verifier before it may replace anything.
            XenStreamValidationResult check = XenStreamVerifier.Verify(output.OpenRead(), new XenStreamVerifierOptions { SourcePath = destination, CancellationToken = options.CancellationToken, CheckEmulatorState = false });
            if (check.ErrorCount > 0)
            {
                string issues = string.Join("; ", check.Issues.Where(i => i.Severity == XenIssueSeverity.Error).Take(5).Select(i => i.Code + ": " + i.Message));
                throw new XenFormatException(XenErrorIds.ConversionFailedVerification, "The converted stream does not pass verification, so nothing was written: " + issues, 0);
            }

            OutputFile.Commit(output, commit);
            return new LegacyFileConversionResult(result, check, destination);
        }
    }
}
