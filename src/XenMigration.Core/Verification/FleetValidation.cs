using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using XenMigration.FileIO;
using XenMigration.Framing;

namespace XenMigration.Verification
{
    /// <summary>One image of a validation run: one row of its report.</summary>
    public sealed class XenImageValidation
    {
        /// <summary>Creates a row (for reports read back and for tests).</summary>
        public XenImageValidation(string path)
        {
            Path = path ?? throw new ArgumentNullException(nameof(path));
        }

        /// <summary>The image's full path.</summary>
        public string Path { get; }
        /// <summary>Valid, Invalid, or Unreadable (it could not be opened or read to its end).</summary>
        public string Verdict { get; set; } = "Valid";
        /// <summary>True when the verdict is Valid.</summary>
        public bool IsValid => Verdict == "Valid";
        /// <summary>The format the image was detected as.</summary>
        public string Format { get; set; } = string.Empty;
        /// <summary>Error issues.</summary>
        public int ErrorCount { get; set; }
        /// <summary>Warning issues.</summary>
        public int WarningCount { get; set; }
        /// <summary>Information issues.</summary>
        public int InformationCount { get; set; }
        /// <summary>The first error, as "Code: message" (or the first warning under -Strict), or null.</summary>
        public string? FirstError { get; set; }
        /// <summary>File size in bytes.</summary>
        public long Size { get; set; }
        /// <summary>Last write time (UTC) when checked.</summary>
        public DateTime LastWriteTimeUtc { get; set; }
        /// <summary>SHA-256 of the image's first 64 KiB (with size and time, what an incremental run compares).</summary>
        public string HeaderSha256 { get; set; } = string.Empty;
        /// <summary>Seconds the check took (of the run that checked it).</summary>
        public double Seconds { get; set; }
        /// <summary>When the check was made (UTC).</summary>
        public DateTime CheckedUtc { get; set; }
        /// <summary>True when the row comes from the previous report: the image is unchanged since.</summary>
        public bool Reused { get; set; }

        /// <inheritdoc/>
        public override string ToString() => Path + ": " + Verdict;
    }

    /// <summary>How a validation run goes.</summary>
    public sealed class FleetValidationOptions
    {
        /// <summary>Images checked at once (default: the processor count).</summary>
        public int ThrottleLimit { get; set; } = Environment.ProcessorCount;
        /// <summary>Warnings count as failures.</summary>
        public bool Strict { get; set; }
        /// <summary>Rows of a previous run, by path: images unchanged since (size, time, header hash) are not checked again.</summary>
        public IReadOnlyDictionary<string, XenImageValidation>? Previous { get; set; }
        /// <summary>Stops the run.</summary>
        public CancellationToken CancellationToken { get; set; }
    }

    /// <summary>
    /// Checks many images in parallel and gives their rows back in the order the paths were given,
    /// as they finish: at most a few times <see cref="FleetValidationOptions.ThrottleLimit"/> rows wait
    /// for an earlier, slower image, so memory stays bounded however many images there are.
    /// </summary>
    public sealed class FleetValidationRun : IDisposable
    {
        private const int HeaderBytes = 64 * 1024;
        private readonly IReadOnlyList<string> _paths;
        private readonly FleetValidationOptions _options;
        private readonly Task<XenImageValidation>?[] _tasks;
        private readonly SemaphoreSlim _slots;
        private readonly CancellationTokenSource _stop;
        private readonly int _window;
        private int _next;
        private int _started;
        private int _completed;

        /// <summary>Starts checking <paramref name="paths"/> (full paths of regular files).</summary>
        public FleetValidationRun(IReadOnlyList<string> paths, FleetValidationOptions options)
        {
            _paths = paths ?? throw new ArgumentNullException(nameof(paths));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            int limit = Math.Max(1, Math.Min(options.ThrottleLimit, 256));
            _slots = new SemaphoreSlim(limit, limit);
            _window = limit * 4;
            _tasks = new Task<XenImageValidation>?[paths.Count];
            _stop = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
            StartMore();
        }

        /// <summary>Images given.</summary>
        public int Total => _paths.Count;

        /// <summary>Images finished so far (in any order).</summary>
        public int Completed => Volatile.Read(ref _completed);

        /// <summary>
        /// The next row in path order, waiting at most <paramref name="wait"/> for it. False with a null
        /// row when it is not ready yet; false with <see cref="IsFinished"/> set when there are no more.
        /// </summary>
        public bool TryGetNext(TimeSpan wait, out XenImageValidation? row)
        {
            row = null;
            if (IsFinished)
            {
                return false;
            }

            Task<XenImageValidation> task = _tasks[_next]!;
            if (!task.Wait((int)Math.Min(int.MaxValue, wait.TotalMilliseconds), _options.CancellationToken))
            {
                return false;
            }

            row = task.Result;
            _tasks[_next] = null;   // released as soon as it is handed out
            _next++;
            StartMore();
            return true;
        }

        /// <summary>True when every row has been handed out.</summary>
        public bool IsFinished => _next >= _paths.Count;

        /// <inheritdoc/>
        public void Dispose()
        {
            _stop.Cancel();
            try
            {
                Task.WaitAll(_tasks.Where(t => t is not null).Cast<Task>().ToArray());
            }
            catch (AggregateException)
            {
                // Cancelled checks: nothing to report.
            }

            _stop.Dispose();
            _slots.Dispose();
        }

        private void StartMore()
        {
            while (_started < _paths.Count && _started < _next + _window)
            {
                string path = _paths[_started];
                _tasks[_started] = Task.Run(() => CheckThrottled(path));
                _started++;
            }
        }

        private XenImageValidation CheckThrottled(string path)
        {
            _slots.Wait(_stop.Token);
            try
            {
                return Check(path, _options, _stop.Token);
            }
            finally
            {
                _slots.Release();
                Interlocked.Increment(ref _completed);
            }
        }

        /// <summary>Checks one image (or reuses its previous row when it is unchanged).</summary>
        internal static XenImageValidation Check(string path, FleetValidationOptions options, CancellationToken cancel)
        {
            var row = new XenImageValidation(path) { CheckedUtc = DateTime.UtcNow };
            var clock = Stopwatch.StartNew();
            try
            {
                var info = new FileInfo(path);
                row.Size = info.Length;
                row.LastWriteTimeUtc = info.LastWriteTimeUtc;
                row.HeaderSha256 = HeaderHash(path);
                if (options.Previous is not null && options.Previous.TryGetValue(path, out XenImageValidation? before)
                    && before.Size == row.Size && before.LastWriteTimeUtc == row.LastWriteTimeUtc
                    && string.Equals(before.HeaderSha256, row.HeaderSha256, StringComparison.OrdinalIgnoreCase)
                    && before.Verdict != "Unreadable")
                {
                    before.Reused = true;
                    return before;
                }

                XenStreamValidationResult result = XenStreamVerifier.VerifyFile(path, new XenStreamVerifierOptions
                {
                    SourcePath = path,
                    Strict = options.Strict,
                    CancellationToken = cancel,
                });
                row.Format = result.Format.ToString();
                row.ErrorCount = result.ErrorCount;
                row.WarningCount = result.WarningCount;
                row.InformationCount = result.InformationCount;
                row.Verdict = result.IsValid ? "Valid" : "Invalid";
                Rules.XenStreamIssue? first = result.Issues.FirstOrDefault(i => i.Severity == Rules.XenIssueSeverity.Error)
                    ?? (options.Strict ? result.Issues.FirstOrDefault(i => i.Severity == Rules.XenIssueSeverity.Warning) : null);
                row.FirstError = first is null ? null : first.Code + ": " + first.Message;
            }
            catch (Exception e) when (e is XenFormatException || e is IOException || e is UnauthorizedAccessException)
            {
                row.Verdict = e is XenFormatException ? "Invalid" : "Unreadable";
                row.ErrorCount = 1;
                row.FirstError = (e is XenFormatException x ? x.ErrorId : e is UnauthorizedAccessException ? "FileAccessDenied" : "FileReadError") + ": " + e.Message;
            }

            row.Seconds = Math.Round(clock.Elapsed.TotalSeconds, 4);
            return row;
        }

        private static string HeaderHash(string path)
        {
            using FileStream file = XenFile.OpenRead(path);
            var buffer = new byte[HeaderBytes];
            int n = ForwardReadStream.ReadFully(file, buffer, 0, buffer.Length);
            using SHA256 sha = SHA256.Create();
            return BitConverter.ToString(sha.ComputeHash(buffer, 0, n)).Replace("-", string.Empty).ToLowerInvariant();
        }
    }

    /// <summary>The JSON and CSV reports of a validation run, and reading a JSON report back.</summary>
    public static class FleetValidationReport
    {
        private static readonly string[] s_columns =
        {
            "Path", "Verdict", "Format", "ErrorCount", "WarningCount", "InformationCount", "FirstError", "Size", "LastWriteTimeUtc", "HeaderSha256", "Seconds", "CheckedUtc", "Reused",
        };

        /// <summary>Writes the report; JSON unless the path ends in .csv.</summary>
        public static void Write(string path, IReadOnlyList<XenImageValidation> rows, IEnumerable<string> roots, string tool)
        {
            using AtomicFileWriter output = AtomicFileWriter.Create(path, 1 << 16);
            using (var writer = new StreamWriter(output.Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" })
            {
                if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                {
                    WriteCsv(writer, rows);
                }
                else
                {
                    WriteJson(writer, rows, roots, tool);
                }
            }

            output.Commit(overwrite: true);
        }

        /// <summary>
        /// The rows of a JSON report written by <see cref="Write"/>, by path; an empty map when the file
        /// does not exist. A report that is not one is an error (an incremental run must not silently check nothing or everything).
        /// </summary>
        /// <exception cref="FormatException">The file is not such a report.</exception>
        public static Dictionary<string, XenImageValidation> Read(string path)
        {
            var rows = new Dictionary<string, XenImageValidation>(StringComparer.Ordinal);
            if (!File.Exists(path))
            {
                return rows;
            }

            var info = new FileInfo(path);
            if (info.Length > Limits.MaxReportBytes)
            {
                throw new FormatException(string.Format(CultureInfo.InvariantCulture, "The previous report '{0}' is {1} bytes; at most {2} are read.", path, info.Length, Limits.MaxReportBytes));
            }

            if (JsonText.Parse(File.ReadAllText(path, Encoding.UTF8)) is not JsonObject root || !root.TryGetValue("images", out object? images) || images is not List<object?> list)
            {
                throw new FormatException("'" + path + "' is not a validation report: it has no \"images\" list.");
            }

            foreach (object? item in list)
            {
                if (item is JsonObject o && Str(o, "Path") is string p)
                {
                    rows[p] = new XenImageValidation(p)
                    {
                        Verdict = Str(o, "Verdict") ?? "Invalid",
                        Format = Str(o, "Format") ?? string.Empty,
                        ErrorCount = (int)Num(o, "ErrorCount"),
                        WarningCount = (int)Num(o, "WarningCount"),
                        InformationCount = (int)Num(o, "InformationCount"),
                        FirstError = Str(o, "FirstError"),
                        Size = (long)Num(o, "Size"),
                        LastWriteTimeUtc = Time(o, "LastWriteTimeUtc"),
                        HeaderSha256 = Str(o, "HeaderSha256") ?? string.Empty,
                        Seconds = Num(o, "Seconds"),
                        CheckedUtc = Time(o, "CheckedUtc"),
                    };
                }
            }

            return rows;
        }

        private static string? Str(JsonObject o, string key) => o.TryGetValue(key, out object? v) ? v as string : null;

        private static double Num(JsonObject o, string key) => o.TryGetValue(key, out object? v) && v is not null && v is not string && v is not bool && v is not JsonObject
            ? Convert.ToDouble(v, CultureInfo.InvariantCulture)
            : 0;

        private static DateTime Time(JsonObject o, string key) =>
            Str(o, key) is string s && DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime t) ? t : default;

        private static void WriteJson(TextWriter w, IReadOnlyList<XenImageValidation> rows, IEnumerable<string> roots, string tool)
        {
            w.WriteLine("{");
            w.WriteLine("  \"tool\": " + Quote(tool) + ",");
            w.WriteLine("  \"generatedUtc\": " + Quote(DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture)) + ",");
            w.WriteLine("  \"roots\": [" + string.Join(", ", roots.Select(Quote)) + "],");
            w.WriteLine("  \"summary\": {");
            w.WriteLine("    \"images\": " + Int(rows.Count) + ",");
            w.WriteLine("    \"valid\": " + Int(rows.Count(r => r.Verdict == "Valid")) + ",");
            w.WriteLine("    \"invalid\": " + Int(rows.Count(r => r.Verdict == "Invalid")) + ",");
            w.WriteLine("    \"unreadable\": " + Int(rows.Count(r => r.Verdict == "Unreadable")) + ",");
            w.WriteLine("    \"reused\": " + Int(rows.Count(r => r.Reused)) + ",");
            w.WriteLine("    \"errors\": " + Int(rows.Sum(r => (long)r.ErrorCount)) + ",");
            w.WriteLine("    \"warnings\": " + Int(rows.Sum(r => (long)r.WarningCount)) + ",");
            w.WriteLine("    \"bytes\": " + Int(rows.Sum(r => r.Size)));
            w.WriteLine("  },");
            w.WriteLine("  \"images\": [");
            for (int i = 0; i < rows.Count; i++)
            {
                string[] values = Values(rows[i], json: true);
                w.Write("    {");
                for (int c = 0; c < s_columns.Length; c++)
                {
                    w.Write((c == 0 ? string.Empty : ", ") + Quote(s_columns[c]) + ": " + values[c]);
                }

                w.WriteLine(i + 1 < rows.Count ? "}," : "}");
            }

            w.WriteLine("  ]");
            w.WriteLine("}");
        }

        private static void WriteCsv(TextWriter w, IReadOnlyList<XenImageValidation> rows)
        {
            // Quoted as Export-Csv quotes, so Import-Csv and spreadsheets read it back.
            w.WriteLine(string.Join(",", s_columns.Select(Csv)));
            foreach (XenImageValidation r in rows)
            {
                w.WriteLine(string.Join(",", Values(r, json: false).Select(Csv)));
            }
        }

        private static string[] Values(XenImageValidation r, bool json)
        {
            string S(string? s) => json ? (s is null ? "null" : Quote(s)) : s ?? string.Empty;
            string B(bool b) => b ? "true" : "false";
            return new[]
            {
                S(r.Path), S(r.Verdict), S(r.Format), Int(r.ErrorCount), Int(r.WarningCount), Int(r.InformationCount), S(r.FirstError), Int(r.Size),
                S(r.LastWriteTimeUtc.ToString("o", CultureInfo.InvariantCulture)), S(r.HeaderSha256), r.Seconds.ToString("0.####", CultureInfo.InvariantCulture),
                S(r.CheckedUtc.ToString("o", CultureInfo.InvariantCulture)), B(r.Reused),
            };
        }

        private static string Int(long n) => n.ToString(CultureInfo.InvariantCulture);

        private static string Csv(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";

        private static string Quote(string s)
        {
            var b = new StringBuilder(s.Length + 2).Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': b.Append("\\\""); break;
                    case '\\': b.Append("\\\\"); break;
                    case '\n': b.Append("\\n"); break;
                    case '\r': b.Append("\\r"); break;
                    case '\t': b.Append("\\t"); break;
                    default:
                        if (c < 0x20)
                        {
                            b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            b.Append(c);
                        }

                        break;
                }
            }

            return b.Append('"').ToString();
        }
    }
}
