using System.Globalization;
using System.Management.Automation;
using XenMigration.Rules;
using XenMigration.Verification;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Verifies Xen save images; returns $true or $false per file, or a detailed result.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "XenStream", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Test-XenStream.md")]
    [OutputType(typeof(bool))]
    [OutputType(typeof(XenStreamValidationResult))]
    public sealed class TestXenStreamCommand : InputFileCmdlet
    {
        /// <summary>Write a result object with every issue instead of a bool.</summary>
        [Parameter]
        public SwitchParameter Detailed { get; set; }

        /// <summary>Warnings count as failures.</summary>
        [Parameter]
        public SwitchParameter Strict { get; set; }

        /// <summary>With -Detailed an unreadable input is a result (invalid, the error as its issue), not an error record.</summary>
        private protected override void InputError(ErrorRecord error, string target)
        {
            if (!Detailed)
            {
                base.InputError(error, target);
                return;
            }

            string id = error.FullyQualifiedErrorId.Split(',')[0];
            string message = error.ErrorDetails?.Message ?? error.Exception.Message;
            WriteObject(XenStreamValidationResult.ForUnreadableInput(target, id, message, Strict));
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            XenStreamValidationResult? result = null;
            RunInput(path, 0x58454E32, progress => result = XenStreamVerifier.VerifyFile(path, new XenStreamVerifierOptions
            {
                SourcePath = path,
                Strict = Strict,
                Progress = (done, total) => progress.Report(path, done, total),
                CancellationToken = Stopped,
            }));

            // Could not be tested at all (cannot open, read error): an error has been written, not $false.
            if (result is null)
            {
                return;
            }

            if (Detailed)
            {
                WriteObject(result);
                return;
            }

            foreach (XenStreamIssue issue in result.Issues)
            {
                WriteVerbose(path + ": " + issue);
            }

            WriteVerbose(string.Format(
                CultureInfo.InvariantCulture,
                "{0}: {1} ({2}, {3}, {4}, {5})",
                path,
                result.IsValid ? "valid" : "invalid",
                XenStreamValidationResult.Plural(result.ErrorCount, "error"),
                XenStreamValidationResult.Plural(result.WarningCount, "warning"),
                XenStreamValidationResult.Plural(result.RecordCount, "record"),
                XenStreamValidationResult.Plural(result.PageCount, "page")));
            WriteObject(result.IsValid);
        }
    }
}
