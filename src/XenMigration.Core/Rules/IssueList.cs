using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Rules
{
    /// <summary>
    /// The issues of one verification: every issue is counted by severity and code, at most
    /// <see cref="Limits.MaxListedPerCode"/> of each code are listed (with their messages), and the
    /// rest are summed into one line per code. Every format's rules report here.
    /// </summary>
    internal sealed class IssueList
    {
        private readonly string? _path;
        private readonly List<XenStreamIssue> _issues = new List<XenStreamIssue>();
        private readonly Dictionary<string, int> _perCode = new Dictionary<string, int>(StringComparer.Ordinal);

        public IssueList(string? path) => _path = path;

        public int Errors { get; private set; }

        public int Warnings { get; private set; }

        public int Information { get; private set; }

        /// <summary>Reports an issue about record <paramref name="r"/>, at its offset.</summary>
        public void Add(string code, XenStreamRecord r, string message) => Add(code, r.Offset, r, message);

        /// <summary>Reports an issue about record <paramref name="r"/> at <paramref name="offset"/>.</summary>
        public void Add(string code, long offset, XenStreamRecord r, string message) => Add(code, offset, r.Index, r.Type, message);

        /// <summary>
        /// Reports an issue. <paramref name="weight"/> counts it as that many issues (the rule breaks
        /// among a record's unkept entries are one listed issue).
        /// </summary>
        public void Add(string code, long? offset, long? index, XenRecordType? type, string message, XenIssueSeverity? severity = null, long weight = 1)
        {
            XenIssueSeverity s = severity ?? XenIssueCodes.Get(code).Severity;
            int n = Count(code, s, weight);
            if (n < Limits.MaxListedPerCode)
            {
                _issues.Add(new XenStreamIssue(_path, s, code, offset, index, type, message));
            }
        }

        /// <summary>
        /// For checks run once per entry: whether an issue of <paramref name="code"/> would still be
        /// listed, so its message is worth building. Past the listing cap the issue is counted here
        /// and no message is made (a 128 MiB record can hold 16 million entries).
        /// </summary>
        public bool Describe(string code)
        {
            if (!_perCode.TryGetValue(code, out int n) || n < Limits.MaxListedPerCode)
            {
                return true;
            }

            Count(code, XenIssueCodes.Get(code).Severity, 1);
            return false;
        }

        /// <summary>One issue for the rule breaks among a record's unkept entries: how many, and the first.</summary>
        public void Unkept(string code, XenStreamRecord r, EntryTally tally, long firstEntryOffset, int entrySize, string what)
        {
            if (tally.Count > 0)
            {
                long at = firstEntryOffset + (entrySize * tally.First);
                Add(code, at, r.Index, r.Type, string.Format(CultureInfo.InvariantCulture, "{0} more {1} (beyond the first {2} entries the reader keeps; the first at offset 0x{3:x})", tally.Count, what, Limits.MaxRetainedEntries, at), weight: tally.Count);
            }
        }

        /// <summary>A sink for rules that check a record's payload, reporting at payload-relative offsets.</summary>
        public IIssueSink ForPayload(XenStreamRecord r) => new PayloadIssues(this, r);

        /// <summary>The listed issues, then one line per code that had more than were listed.</summary>
        public IReadOnlyList<XenStreamIssue> Finish()
        {
            foreach (KeyValuePair<string, int> pair in _perCode)
            {
                if (pair.Value > Limits.MaxListedPerCode)
                {
                    XenIssueCode code = XenIssueCodes.Get(pair.Key);
                    _issues.Add(new XenStreamIssue(_path, code.Severity, code.Code, null, null, null, string.Format(CultureInfo.InvariantCulture, "{0} more issues with code {1} are not listed", pair.Value - Limits.MaxListedPerCode, code.Code)));
                }
            }

            return _issues;
        }

        // Counts weight issues of a code; returns how many of that code there were before.
        private int Count(string code, XenIssueSeverity s, long weight)
        {
            int w = (int)Math.Min(weight, int.MaxValue);
            switch (s)
            {
                case XenIssueSeverity.Error:
                    Errors = Saturating(Errors, w);
                    break;
                case XenIssueSeverity.Warning:
                    Warnings = Saturating(Warnings, w);
                    break;
                default:
                    Information = Saturating(Information, w);
                    break;
            }

            _perCode.TryGetValue(code, out int n);
            _perCode[code] = Saturating(n, w);
            return n;
        }

        private static int Saturating(int a, int b) => (int)Math.Min((long)a + b, int.MaxValue);

        private sealed class PayloadIssues : IIssueSink
        {
            private readonly IssueList _list;
            private readonly XenStreamRecord _r;

            public PayloadIssues(IssueList list, XenStreamRecord r)
            {
                _list = list;
                _r = r;
            }

            public bool Describe(string code) => _list.Describe(code);

            public void Report(string code, long offset, string message) => _list.Add(code, _r.PayloadOffset + offset, _r, message);
        }
    }
}
