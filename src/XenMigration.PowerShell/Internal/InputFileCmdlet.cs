using System;
using System.Collections.ObjectModel;
using System.IO;
using System.Management.Automation;
using Microsoft.PowerShell.Commands;
using XenMigration.FileIO;
using XenMigration.Framing;

namespace XenMigration.Commands
{
    /// <summary>
    /// Base of the cmdlets that read files: the -Path / -LiteralPath pair resolved the way
    /// Get-FileHash and Format-Hex do it, so every reader cmdlet binds, expands wildcards and
    /// reports missing or non-file paths identically.
    /// </summary>
    public abstract class InputFileCmdlet : PSCmdlet, IDisposable
    {
        private readonly System.Threading.CancellationTokenSource _stop = new System.Threading.CancellationTokenSource();

        /// <summary>Signalled when the pipeline stops (Ctrl+C): long reads check it and end within a second.</summary>
        private protected System.Threading.CancellationToken Stopped => _stop.Token;

        /// <inheritdoc/>
        protected override void StopProcessing() => _stop.Cancel();

        /// <summary>Releases the cancellation source; PowerShell calls it however the pipeline ends.</summary>
        public void Dispose()
        {
            _stop.Dispose();
            GC.SuppressFinalize(this);
        }

        /// <summary>Parameter set of -Path.</summary>
        protected const string PathSet = "Path";

        /// <summary>Parameter set of -LiteralPath.</summary>
        protected const string LiteralPathSet = "LiteralPath";

        private string[] _paths = Array.Empty<string>();
        private bool _literal;

        /// <summary>Files to read; wildcards are expanded.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public virtual string[] Path
        {
            get => _paths;
            set
            {
                _paths = value;
                _literal = false;
            }
        }

        /// <summary>Files to read, taken exactly as written (no wildcards).</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
        [Alias("PSPath", "LP", "FilePath")]
        [ValidateNotNullOrEmpty]
        public virtual string[] LiteralPath
        {
            get => _paths;
            set
            {
                _paths = value;
                _literal = true;
            }
        }

        /// <summary>
        /// Resolves the input paths and calls <see cref="ProcessFile"/> for each file. A file that
        /// comes again in the next pipeline object is not processed again: records and results bind
        /// by their FilePath, so <c>Get-XenStreamRecord a.save | Test-XenStream</c> means a.save once,
        /// not once per record.
        /// </summary>
        protected override void ProcessRecord()
        {
            string? previous = _previousInput;
            _previousInput = null;
            foreach (string path in _paths)
            {
                foreach (string file in Resolve(path))
                {
                    if (Stopping)
                    {
                        return;
                    }

                    if (_paths.Length == 1 && string.Equals(file, previous, StringComparison.Ordinal))
                    {
                        _previousInput = file;
                        continue;
                    }

                    ProcessFile(file);
                    _previousInput = _paths.Length == 1 ? file : null;
                }
            }
        }

        private string? _previousInput;

        /// <summary>Processes one resolved file-system path.</summary>
        protected abstract void ProcessFile(string path);

        /// <summary>True for cmdlets that take folders of images (their folders come to <see cref="ProcessFile"/> too).</summary>
        private protected virtual bool AcceptsDirectories => false;

        /// <summary>
        /// An input could not be read (missing, a directory, unreadable, damaged). Writes the error;
        /// a cmdlet whose output reports on files (Test-XenStream -Detailed) reports it there instead.
        /// </summary>
        private protected virtual void InputError(ErrorRecord error, string target) => WriteError(error);

        /// <summary>
        /// The one per-input error boundary of the module: runs <paramref name="work"/> for one file
        /// (or record) with a throttled progress bar, and turns what makes that input unreadable
        /// (a format fault, an I/O or permission error, a record whose reader has moved on) into one
        /// non-terminating error naming <paramref name="target"/>, so the next input is still read.
        /// Returns false when the input failed.
        /// </summary>
        private protected bool RunInput(string target, int activityId, Action<ProgressReporter> work)
        {
            var progress = new ProgressReporter(this, activityId, MyInvocation.MyCommand.Name);
            try
            {
                work(progress);
                return true;
            }
            catch (OperationCanceledException) when (Stopping)
            {
                return false;
            }
            catch (Exception ex) when (ErrorRecords.IsPerFile(ex) || ex is InvalidOperationException)
            {
                InputError(ErrorRecords.FromException(ex, target), target);
                return false;
            }
            finally
            {
                progress.Complete();
            }
        }

        /// <summary>
        /// The one read loop of the module: every record of <paramref name="reader"/> to
        /// <paramref name="each"/> as it is read, with progress, until the end or until the pipeline
        /// stops (Select-Object -First, Ctrl+C).
        /// </summary>
        private protected void ReadAll<TRecord>(IRecordReader<TRecord> reader, string target, ProgressReporter progress, Action<TRecord> each)
            where TRecord : class
        {
            TRecord? record;
            while ((record = reader.ReadNext()) is not null)
            {
                each(record);
                progress.Report(target, reader.Position, reader.Length);
                if (Stopping)
                {
                    return;
                }
            }
        }

        /// <summary>
        /// Streams the records of one file to the pipeline as they are read: those
        /// <paramref name="wanted"/> accepts, then one error record if the file is damaged (every
        /// good record before the fault has been written by then).
        /// </summary>
        private protected void WriteRecords<TRecord>(string path, int activityId, Func<Stream, IRecordReader<TRecord>> open, Func<TRecord, bool> wanted)
            where TRecord : class
        {
            RunInput(path, activityId, progress =>
            {
                // The file stays open (shared for reading) while records stream down the pipeline;
                // Select-Object -First stops us with an exception that the using blocks let through.
                FileStream stream = XenFile.OpenRead(path);
                IRecordReader<TRecord> reader;
                try
                {
                    reader = open(stream);
                }
                catch
                {
                    stream.Dispose();
                    throw;
                }

                using (reader)
                {
                    ReadAll(reader, path, progress, record =>
                    {
                        if (wanted(record))
                        {
                            WriteObject(record);
                        }
                    });
                }
            });
        }

        private Collection<string> Resolve(string path)
        {
            var files = new Collection<string>();
            ProviderInfo provider;
            Collection<string> candidates;
            try
            {
                if (_literal)
                {
                    string resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
                    candidates = new Collection<string> { resolved };
                }
                else
                {
                    candidates = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider);
                }
            }
            catch (ItemNotFoundException ex)
            {
                // A wildcard that matches nothing is not an error (Get-FileHash does the same).
                if (_literal || !WildcardPattern.ContainsWildcardCharacters(path))
                {
                    InputError(ErrorRecords.FileNotFound(path, ex), path);
                }

                return files;
            }
            catch (SessionStateException ex)
            {
                // No such drive or provider: the file cannot exist.
                InputError(ErrorRecords.FileNotFound(path, ex), path);
                return files;
            }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is PSNotSupportedException || ex is PSInvalidOperationException)
            {
                InputError(ErrorRecords.InvalidPath(path, ex), path);
                return files;
            }

            if (provider.ImplementingType != typeof(FileSystemProvider))
            {
                InputError(ErrorRecords.NotFileSystem(path, provider.Name), path);
                return files;
            }

            bool expanded = !_literal && WildcardPattern.ContainsWildcardCharacters(path);
            foreach (string candidate in candidates)
            {
                if (Directory.Exists(candidate))
                {
                    if (AcceptsDirectories)
                    {
                        files.Add(candidate);
                        continue;
                    }

                    // Directories that a wildcard happened to match are skipped quietly.
                    if (!expanded)
                    {
                        InputError(ErrorRecords.IsDirectory(candidate), candidate);
                    }

                    continue;
                }

                if (!File.Exists(candidate))
                {
                    InputError(ErrorRecords.FileNotFound(candidate, new FileNotFoundException("Cannot find the file '" + candidate + "' because it does not exist.", candidate)), candidate);
                    continue;
                }

                files.Add(candidate);
            }

            return files;
        }
    }
}
