using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using XenMigration.FileIO;
using XenMigration.Records;
using XenMigration.Rules;
using XenMigration.Verification;

namespace XenMigration.Rewrite
{
    /// <summary>Options of <see cref="StreamRewriter.Write"/>.</summary>
    internal sealed class RewriteOptions
    {
        /// <summary>Write the image even when it fails verification (for testing a restore path).</summary>
        public bool AllowInvalid { get; set; }

        public Action<long, long?>? Progress { get; set; }

        public CancellationToken CancellationToken { get; set; }
    }

    /// <summary>What <see cref="StreamRewriter.Write"/> wrote.</summary>
    internal sealed class RewriteResult
    {
        public int Records { get; internal set; }

        public int Edited { get; internal set; }

        public int Dropped { get; internal set; }

        public long Bytes { get; internal set; }

        public XenStreamValidationResult Verification { get; internal set; } = null!;
    }

    /// <summary>
    /// Writes an image from records of one source image, in pipeline order: an unchanged record is
    /// copied from the source file byte for byte (its header, body and padding, page payloads
    /// included, through a 1 MiB buffer), an edited one is written as its new bytes. The result is
    /// verified with Test-XenStream's rules before it replaces anything; an image that fails is not
    /// written unless asked for. Bytes after the last record of the source (trailing data) are not
    /// part of any record and are not copied.
    /// </summary>
    internal static class StreamRewriter
    {
        /// <summary>The bytes a record takes in its file: framed records are padded to 8 bytes.</summary>
        internal static long Span(XenStreamRecord r) =>
            r.TypeCode is not null && (r.Layer == XenLayer.Libxl || r.Layer == XenLayer.Libxc)
                ? 8 + ((r.Length + 7) & ~7L)
                : r.Length;

        /// <summary>Writes all of <paramref name="records"/> (see <see cref="RewriteSession"/>).</summary>
        public static RewriteResult Write(IReadOnlyList<XenStreamRecord> records, string destination, RewriteOptions options, CommitOptions commit)
        {
            if (records.Count == 0)
            {
                throw new ArgumentException("There are no records to write.", nameof(records));
            }

            using var session = new RewriteSession(records[0], destination, options, commit);
            foreach (XenStreamRecord r in records)
            {
                session.Add(r);
            }

            return session.Finish();
        }
    }

    /// <summary>
    /// One image being written, record by record as they arrive (so a 64 GiB image goes through in
    /// the memory of one record and a 1 MiB buffer); <see cref="Finish"/> verifies and commits, and
    /// disposing an unfinished session leaves nothing behind.
    /// </summary>
    internal sealed class RewriteSession : IDisposable
    {
        private readonly string _source;
        private readonly RewriteOptions _options;
        private readonly CommitOptions _commit;
        private readonly FileStream _input;
        private readonly AtomicFileWriter _output;
        private readonly byte[] _buffer = new byte[1 << 20];
        private readonly RewriteResult _result = new RewriteResult();
        private long _previousEnd = -1;

        public RewriteSession(XenStreamRecord first, string destination, RewriteOptions options, CommitOptions commit)
        {
            _source = first.FilePath ?? throw new InvalidOperationException("The records have no file to copy their bytes from (they were read from a pipe).");
            _options = options;
            _commit = commit;
            Destination = Path.GetFullPath(destination);
            OutputFile.Check(Destination, _source, commit);
            Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
            _input = XenFile.OpenRead(_source);
            try
            {
                _output = AtomicFileWriter.Create(Destination);
            }
            catch
            {
                _input.Dispose();
                throw;
            }
        }

        public string Destination { get; }

        public void Add(XenStreamRecord r)
        {
            if (!string.Equals(r.FilePath, _source, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "The records come from two images ('{0}' and '{1}'): an image is written from the records of one.", _source, r.FilePath));
            }

            _options.CancellationToken.ThrowIfCancellationRequested();
            XenStreamRecord place = r is XenEditedRecord e0 ? e0.Original : r;
            if (_previousEnd >= 0 && place.Offset > _previousEnd)
            {
                _result.Dropped++;   // records between the last written and this one were left out
            }

            _previousEnd = place.Offset + StreamRewriter.Span(place);
            if (r is XenEditedRecord edited)
            {
                _output.Stream.Write(edited.Bytes.ToArray(), 0, edited.Bytes.Length);
                _result.Edited++;
                _result.Bytes += edited.Bytes.Length;
            }
            else
            {
                long left = StreamRewriter.Span(r);
                _input.Position = r.Offset;
                while (left > 0)
                {
                    int n = _input.Read(_buffer, 0, (int)Math.Min(_buffer.Length, left));
                    if (n <= 0)
                    {
                        throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "The source image ends inside the {0} record at offset {1}: it changed since it was read.", r.Type, r.Offset), r.Offset);
                    }

                    _output.Stream.Write(_buffer, 0, n);
                    left -= n;
                    _result.Bytes += n;
                }

                _options.Progress?.Invoke(_input.Position, _input.Length);
            }

            _result.Records++;
        }

        public RewriteResult Finish()
        {
            _output.Stream.Flush();
            XenStreamValidationResult check = XenStreamVerifier.Verify(_output.OpenRead(), new XenStreamVerifierOptions { SourcePath = Destination, CancellationToken = _options.CancellationToken, SourceIsFile = true });
            _result.Verification = check;
            if (check.ErrorCount > 0 && !_options.AllowInvalid)
            {
                string issues = string.Join("; ", check.Issues.Where(i => i.Severity == XenIssueSeverity.Error).Take(5).Select(i => i.Code + ": " + i.Message));
                throw new XenFormatException(XenErrorIds.RewriteFailedVerification, "The image written does not pass verification, so nothing was written: " + issues, 0);
            }

            OutputFile.Commit(_output, _commit);
            return _result;
        }

        public void Dispose()
        {
            _output.Dispose();
            _input.Dispose();
        }
    }
}
