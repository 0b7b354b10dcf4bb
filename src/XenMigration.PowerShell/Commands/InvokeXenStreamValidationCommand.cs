using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using XenMigration.Verification;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Validates every image in folders and files, in parallel, and writes one JSON or CSV report: the scheduled check of a fleet's saved guests.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "XenStreamValidation", DefaultParameterSetName = PathSet, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Invoke-XenStreamValidation.md")]
    [OutputType(typeof(XenImageValidation))]
    public sealed class InvokeXenStreamValidationCommand : InputFileCmdlet
    {
        private readonly List<string> _files = new List<string>();
        private readonly List<string> _roots = new List<string>();
        private WildcardPattern[] _include = Array.Empty<WildcardPattern>();
        private WildcardPattern[] _exclude = Array.Empty<WildcardPattern>();

        /// <summary>Look into subfolders of the folders given.</summary>
        [Parameter]
        public SwitchParameter Recurse { get; set; }

        /// <summary>Only files whose names match one of these wildcards (in folders; files named directly are always checked).</summary>
        [Parameter]
        [SupportsWildcards]
        public string[]? Include { get; set; }

        /// <summary>Not files whose names match one of these wildcards.</summary>
        [Parameter]
        [SupportsWildcards]
        public string[]? Exclude { get; set; }

        /// <summary>Report files to write: JSON, or CSV for a path ending in .csv.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? ReportPath { get; set; }

        /// <summary>Skip images unchanged (size, last write time, hash of the first 64 KiB) since the JSON report of -ReportPath was written; their rows are carried over.</summary>
        [Parameter]
        public SwitchParameter Incremental { get; set; }

        /// <summary>Images checked at once; default the processor count.</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

        /// <summary>Warnings count as failures.</summary>
        [Parameter]
        public SwitchParameter Strict { get; set; }

        private protected override bool AcceptsDirectories => true;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            _include = (Include ?? Array.Empty<string>()).Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant)).ToArray();
            _exclude = (Exclude ?? Array.Empty<string>()).Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant)).ToArray();
            if (Incremental && JsonReport() is null)
            {
                ThrowTerminatingError(ErrorRecords.Create(
                    new PSArgumentException("-Incremental compares with the previous JSON report: give a -ReportPath that ends in .json (it is read first, then rewritten).", nameof(Incremental)),
                    "IncrementalNeedsJsonReport",
                    ErrorCategory.InvalidArgument,
                    ReportPath));
            }
        }

        /// <inheritdoc/>
        protected override void ProcessFile(string path)
        {
            if (!Directory.Exists(path))
            {
                if (!Excluded(System.IO.Path.GetFileName(path)))
                {
                    _files.Add(path);
                    _roots.Add(path);
                }

                return;
            }

            _roots.Add(path);
            var pending = new Stack<DirectoryInfo>();
            pending.Push(new DirectoryInfo(path));
            while (pending.Count > 0 && !Stopping)
            {
                DirectoryInfo dir = pending.Pop();
                FileSystemInfo[] entries;
                try
                {
                    entries = dir.GetFileSystemInfos();
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is System.Security.SecurityException)
                {
                    WriteError(ErrorRecords.Create(ex, "FolderReadError", ErrorCategory.ReadError, dir.FullName));
                    continue;
                }

                foreach (FileSystemInfo entry in entries)
                {
                    bool link = (entry.Attributes & FileAttributes.ReparsePoint) != 0;
                    if (entry is DirectoryInfo sub)
                    {
                        // Linked folders are not followed: a link to a parent would never end.
                        if (Recurse && !link)
                        {
                            pending.Push(sub);
                        }
                    }
                    else if (Wanted(entry.Name))
                    {
                        _files.Add(entry.FullName);
                    }
                }
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            // Stable order whatever the file system's: by path, each image once.
            string[] files = _files.Distinct(StringComparer.Ordinal).OrderBy(f => f, StringComparer.Ordinal).ToArray();
            IReadOnlyDictionary<string, XenImageValidation>? previous = null;
            string? json = JsonReport();
            if (Incremental && json is not null)
            {
                try
                {
                    previous = FleetValidationReport.Read(GetUnresolvedProviderPathFromPSPath(json));
                    WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0} images in the previous report {1}.", previous.Count, json));
                }
                catch (Exception ex) when (ex is FormatException || ex is IOException || ex is UnauthorizedAccessException)
                {
                    ThrowTerminatingError(ErrorRecords.Create(ex, "PreviousReportUnreadable", ErrorCategory.InvalidData, json));
                }
            }

            var rows = new List<XenImageValidation>(files.Length);
            var progress = new ProgressReporter(this, 0x58454E56, "Validating Xen images");
            using (var run = new FleetValidationRun(files, new FleetValidationOptions { ThrottleLimit = ThrottleLimit, Strict = Strict, Previous = previous, CancellationToken = Stopped }))
            {
                try
                {
                    while (!run.IsFinished)
                    {
                        if (run.TryGetNext(TimeSpan.FromMilliseconds(250), out XenImageValidation? row) && row is not null)
                        {
                            rows.Add(row);
                            WriteVerbose(row.Path + ": " + row.Verdict + (row.Reused ? " (unchanged since the previous report)" : string.Empty) + (row.FirstError is null ? string.Empty : " - " + row.FirstError));
                            WriteObject(row);
                        }

                        progress.Report(string.Format(CultureInfo.InvariantCulture, "{0} of {1} images", run.Completed, run.Total), run.Completed, run.Total);
                    }
                }
                catch (OperationCanceledException)
                {
                    return;   // Ctrl+C: no report of a partial run
                }
            }

            progress.Complete();
            foreach (string report in ReportPath ?? Array.Empty<string>())
            {
                try
                {
                    FleetValidationReport.Write(GetUnresolvedProviderPathFromPSPath(report), rows, _roots.Distinct(StringComparer.Ordinal), "XenMigration " + MyInvocation.MyCommand.Module?.Version);
                    WriteVerbose("Report written: " + report);
                }
                catch (Exception ex) when (ErrorRecords.IsPerFile(ex) || ex is ArgumentException || ex is NotSupportedException)
                {
                    ThrowTerminatingError(ErrorRecords.Create(ex, "ReportWriteError", ErrorCategory.WriteError, report));
                }
            }
        }

        private string? JsonReport() => ReportPath?.FirstOrDefault(p => !p.EndsWith(".csv", StringComparison.OrdinalIgnoreCase));

        private bool Wanted(string name)
        {
            // The module's own temporary files (".name.<guid>.tmp") are writes in progress, not images.
            if (name.StartsWith(".", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            return (_include.Length == 0 || _include.Any(p => p.IsMatch(name))) && !Excluded(name);
        }

        private bool Excluded(string name) => _exclude.Any(p => p.IsMatch(name));
    }
}
