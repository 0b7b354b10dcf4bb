using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using XenMigration.FileIO;
using XenMigration.Libxl;
using XenMigration.Xenstore;

namespace XenMigration.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes a xenstore migration dump from records, emulator xenstore data or plain objects.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "XenstoreDump", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, HelpUri = "https://github.com/XenMigration/XenMigration/blob/main/docs/cmdlets/Export-XenstoreDump.md")]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportXenstoreDumpCommand : PSCmdlet
    {
        private static readonly char[] s_permissionSeparators = { ',', ' ', ';' };

        private const string PathSet = "Path";
        private const string LiteralPathSet = "LiteralPath";
        private readonly XenstoreDumpPlan _plan = new XenstoreDumpPlan();
        private int _invalidInputs;

        /// <summary>The dump file to write.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>The dump file to write, taken literally.</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
        [Alias("PSPath", "LP")]
        [ValidateNotNullOrEmpty]
        public string? LiteralPath { get; set; }

        /// <summary>Records, EMULATOR_XENSTORE_DATA records, or objects with Path, Value and Owner or Permissions.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [AllowNull]
        public PSObject? InputObject { get; set; }

        /// <summary>Absolute node under which relative paths and emulator keys are placed.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Root { get; set; }

        /// <summary>Owner domain of nodes whose input names no owner or permissions (default 0).</summary>
        [Parameter]
        public ushort Owner { get; set; }

        /// <summary>Dump version; by default the imported dump's, else 2.</summary>
        [Parameter]
        [ValidateSet("1", "2")]
        public int Version { get; set; }

        /// <summary>Write big-endian records (as oxenstored on big-endian hosts); by default the imported dump's order, else little-endian.</summary>
        [Parameter]
        public SwitchParameter BigEndian { get; set; }

        /// <summary>Replace a read-only destination.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Never replace an existing file.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Write the FileInfo of the dump.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            if (Root is not null)
            {
                string? problem = XenstoreFormat.CheckNodePath(Root);
                if (problem is not null)
                {
                    ThrowTerminatingError(ErrorRecords.Create(new ArgumentException("-Root '" + Root + "' is not a valid node path: " + problem + "."), "InvalidRoot", ErrorCategory.InvalidArgument, Root));
                }

                Root = Root.Length > 1 ? Root.TrimEnd('/') : Root;
            }
        }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (InputObject is null)
            {
                return;
            }

            try
            {
                switch (InputObject.BaseObject)
                {
                    case XenstoreRecord record:
                        _plan.Add(record);
                        break;
                    case EmulatorXenstoreDataRecord emulator:
                        AddEmulatorData(emulator);
                        break;
                    default:
                        AddPlainObject(InputObject);
                        break;
                }
            }
            catch (Exception ex) when (ex is ArgumentException || ex is FormatException || ex is InvalidCastException || ex is OverflowException)
            {
                _invalidInputs++;
                WriteError(ErrorRecords.Create(ex, "InvalidInputObject", ErrorCategory.InvalidData, InputObject));
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            if (_invalidInputs > 0)
            {
                WriteError(ErrorRecords.Create(new InvalidDataException(string.Format(CultureInfo.InvariantCulture, "{0} input objects were invalid, so nothing was written.", _invalidInputs)), "NothingWritten", ErrorCategory.InvalidData, null));
                return;
            }

            uint version = MyInvocation.BoundParameters.ContainsKey(nameof(Version)) ? (uint)Version : _plan.SourceHeader?.Version ?? XenstoreFormat.CurrentVersion;
            bool bigEndian = MyInvocation.BoundParameters.ContainsKey(nameof(BigEndian)) ? BigEndian.IsPresent : _plan.SourceHeader?.IsBigEndian ?? false;
            IReadOnlyList<string> problems = _plan.Validate(version);
            if (problems.Count > 0)
            {
                foreach (string problem in problems.Take(50))
                {
                    WriteError(ErrorRecords.Create(new InvalidDataException(problem), "InvalidXenstoreData", ErrorCategory.InvalidData, null));
                }

                WriteError(ErrorRecords.Create(new InvalidDataException(string.Format(CultureInfo.InvariantCulture, "{0} problems found in the input, so nothing was written.", problems.Count)), "NothingWritten", ErrorCategory.InvalidData, null));
                return;
            }

            string destination;
            try
            {
                destination = OutputFiles.Resolve(this, (LiteralPath ?? Path)!);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is SessionStateException)
            {
                ThrowTerminatingError(ErrorRecords.Create(ex, "InvalidDestination", ErrorCategory.InvalidArgument, LiteralPath ?? Path));
                return;
            }

            var commit = new CommitOptions { NoClobber = NoClobber, Force = Force };
            string action = string.Format(CultureInfo.CurrentCulture, "Write a version {0} {1}-endian xenstore dump of {2} records", version, bigEndian ? "big" : "little", _plan.Count);
            if (!OutputFiles.Prepare(this, destination, null, commit, action, out ErrorRecord? refusal))
            {
                if (refusal is not null)
                {
                    ThrowTerminatingError(refusal);
                }

                return;
            }

            try
            {
                _plan.WriteFile(destination, version, bigEndian, commit);
            }
            catch (DestinationException ex)
            {
                ThrowTerminatingError(OutputFiles.Refusal(ex));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                ThrowTerminatingError(ErrorRecords.Create(ex, "FileWriteError", ErrorCategory.WriteError, destination));
            }

            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Wrote {0}: {1} records, version {2}, {3}-endian.", destination, _plan.Count, version, bigEndian ? "big" : "little"));
            if (PassThru)
            {
                OutputFiles.PassThru(this, destination);
            }
        }

        private void AddEmulatorData(EmulatorXenstoreDataRecord emulator)
        {
            var pairs = new List<KeyValuePair<string, string>>();
            foreach (XenstoreKeyValue pair in emulator.Entries)
            {
                pairs.Add(new KeyValuePair<string, string>(pair.Key, pair.Value));
            }

            _plan.AddRelative(Root, pairs, Owner);
        }

        // Plain objects (Import-Csv, ConvertFrom-Json, hashtables): this layer only reads their
        // properties; what they mean as xenstore nodes is the plan's (Core).
        private void AddPlainObject(PSObject input)
        {
            object? pathValue = Property(input, "Path") ?? throw new ArgumentException("The input object has no Path property (expected Path, Value, and Owner or Permissions).");
            string path = Convert.ToString(Unwrap(pathValue), CultureInfo.InvariantCulture) ?? string.Empty;
            byte[] value = Unwrap(Property(input, "Value")) switch
            {
                null => Array.Empty<byte>(),
                byte[] bytes => bytes,
                object other => Encoding.UTF8.GetBytes(Convert.ToString(other, CultureInfo.InvariantCulture) ?? string.Empty),
            };
            object? owner = Unwrap(Property(input, "Owner"));
            ushort? ownerId = owner is null || (owner is string s && s.Length == 0) ? null : Convert.ToUInt16(owner, CultureInfo.InvariantCulture);
            _plan.AddNode(path, value, Root, ownerId, PermissionItems(Unwrap(Property(input, "Permissions"))), Owner);
        }

        // Permissions as given: "b0,r7" text, an array of texts, or XenstorePermission objects.
        private static IEnumerable<object>? PermissionItems(object? permissions)
        {
            if (permissions is null || (permissions is string empty && empty.Length == 0))
            {
                return null;
            }

            if (permissions is string text)
            {
                return text.Split(s_permissionSeparators, StringSplitOptions.RemoveEmptyEntries);
            }

            var items = new List<object>();
            foreach (object? item in permissions as IEnumerable ?? new[] { permissions })
            {
                if (Unwrap(item) is object o)
                {
                    items.Add(o);
                }
            }

            return items;
        }

        private static object? Property(PSObject input, string name)
        {
            if (input.BaseObject is IDictionary dictionary)
            {
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (string.Equals(entry.Key as string, name, StringComparison.OrdinalIgnoreCase))
                    {
                        return entry.Value;
                    }
                }

                return null;
            }

            return input.Properties[name]?.Value;
        }

        private static object? Unwrap(object? value) => value is PSObject ps ? ps.BaseObject : value;
    }
}
