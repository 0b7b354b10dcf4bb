using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Xenstore
{
    /// <summary>
    /// Writes xenstore dumps. Bodies are padded inside the record length (as the C daemon does), so
    /// readers of either length convention agree. Records read from a dump of the same version and
    /// byte order are written back verbatim.
    /// </summary>
    public sealed class XenstoreDumpWriter
    {
        private readonly FramedRecordWriter _frames;
        private readonly ByteBuilder _body = new ByteBuilder(256);

        /// <summary>Creates a writer; nothing is written until <see cref="WriteHeader"/>.</summary>
        public XenstoreDumpWriter(Stream output, uint version = XenstoreFormat.CurrentVersion, bool bigEndian = false)
        {
            if (version < 1 || version > 2)
            {
                throw new ArgumentOutOfRangeException(nameof(version), "Xenstore dump versions are 1 and 2.");
            }

            Version = version;
            BigEndian = bigEndian;
            _frames = new FramedRecordWriter(output, XenstoreFormat.MaxRecordLength, bigEndian);
            _body.BigEndian = bigEndian;
        }

        /// <summary>Version written.</summary>
        public uint Version { get; }

        /// <summary>Byte order of the records.</summary>
        public bool BigEndian { get; }

        /// <summary>Bytes written.</summary>
        public long Position => _frames.Position;

        /// <summary>Writes the 16-byte header (big-endian fields, as the spec says).</summary>
        public void WriteHeader() =>
            _frames.WriteRaw(new ByteBuilder(16, bigEndian: true).U64(XenstoreFormat.Ident).U32(Version).U32(BigEndian ? XenstoreFormat.FlagBigEndian : 0).Span);

        /// <summary>Writes one record (not the header).</summary>
        public void Write(XenstoreRecord record)
        {
            if (record.Type == XenstoreRecordType.Header)
            {
                throw new ArgumentException("Write the header with WriteHeader.", nameof(record));
            }

            uint code = record.TypeCode!.Value;
            if (record.RawBody is byte[] raw && record.SourceVersion == Version && record.SourceBigEndian == BigEndian)
            {
                _frames.BeginRecord(code, raw.Length);
                _frames.WriteBody(raw);
                _frames.EndRecord();
                return;
            }

            // A WATCH_DATA_EXTENDED without a depth limit is a plain WATCH_DATA in version 1.
            if (record is XenstoreWatchRecord { Type: XenstoreRecordType.WatchExtended } w && Version < 2)
            {
                record = new XenstoreWatchRecord(w.ConnectionId, w.WatchPath, w.Token);
                code = (uint)XenstoreRecordType.Watch;
            }

            _body.Clear();
            record.Encode(_body, Version);
            _body.PadTo(RecordFrame.Alignment);
            _frames.WriteRecord(code, _body.Span);
        }

        /// <summary>Writes END.</summary>
        public void WriteEnd() => _frames.WriteRecord((uint)XenstoreRecordType.End, ReadOnlySpan<byte>.Empty);
    }

    /// <summary>
    /// Collects the records of a dump to be written, checks them, and orders them so that every
    /// record comes after what it depends on (a connection before its watches and transactions, a
    /// transaction before its pending nodes, a parent node before its children) while keeping the
    /// given order wherever it is already right.
    /// </summary>
    public sealed class XenstoreDumpPlan
    {
        private readonly List<XenstoreRecord> _records = new List<XenstoreRecord>();
        private readonly List<(string Root, XenstoreNodeRecord Node)> _rooted = new List<(string, XenstoreNodeRecord)>();

        /// <summary>The header of the first imported dump seen, if any.</summary>
        public XenstoreHeaderRecord? SourceHeader { get; private set; }

        /// <summary>Number of records collected (header and END excluded).</summary>
        public int Count => _records.Count;

        /// <summary>Adds a record; a header sets <see cref="SourceHeader"/> and END is dropped (one is written at the end).</summary>
        public void Add(XenstoreRecord record)
        {
            switch (record.Type)
            {
                case XenstoreRecordType.Header:
                    SourceHeader ??= (XenstoreHeaderRecord)record;
                    return;
                case XenstoreRecordType.End:
                    return;
                default:
                    _records.Add(record);
                    return;
            }
        }

        /// <summary>
        /// Adds a node below <paramref name="root"/> (which is assumed to exist where the dump is
        /// restored); missing nodes between the root and it are created with its permissions.
        /// </summary>
        public void AddBelow(string root, XenstoreNodeRecord node)
        {
            _rooted.Add((root, node));
            _records.Add(node);
        }

        /// <summary>Everything wrong with the collected records, as messages; empty when they can be written.</summary>
        public IReadOnlyList<string> Validate(uint version)
        {
            var errors = new List<string>();
            var connections = new HashSet<uint>();
            var transactions = new HashSet<(uint, uint)>();
            var committed = new HashSet<string>(StringComparer.Ordinal);
            var pending = new HashSet<(uint, uint, string)>();
            var domains = new HashSet<ushort>();
            int globals = 0;
            foreach (XenstoreRecord r in _records)
            {
                switch (r)
                {
                    case XenstoreConnectionRecord c when !connections.Add(c.ConnectionId):
                        errors.Add(Describe(r) + ": connection id " + c.ConnectionId.ToString(CultureInfo.InvariantCulture) + " appears twice");
                        break;
                    case XenstoreTransactionRecord t when !transactions.Add((t.ConnectionId, t.TransactionId)):
                        errors.Add(Describe(r) + ": the transaction appears twice");
                        break;
                    case XenstoreDomainRecord d when !domains.Add(d.DomainId):
                        errors.Add(Describe(r) + ": DOMAIN_DATA for the domain appears twice");
                        break;
                    case XenstoreGlobalRecord when ++globals > 1:
                        errors.Add(Describe(r) + ": GLOBAL_DATA appears more than once");
                        break;
                }
            }

            foreach (XenstoreRecord r in _records)
            {
                switch (r)
                {
                    case XenstoreNodeRecord n:
                        CheckNode(n, errors, committed, pending, transactions);
                        break;
                    case XenstoreWatchRecord w:
                        if (!connections.Contains(w.ConnectionId))
                        {
                            errors.Add(Describe(r) + ": the watch belongs to connection " + w.ConnectionId.ToString(CultureInfo.InvariantCulture) + ", which the dump does not contain");
                        }

                        if (w.WatchPath.Length == 0 || w.Token.Length == 0)
                        {
                            errors.Add(Describe(r) + ": the watch path and token must not be empty");
                        }

                        if (w.Type == XenstoreRecordType.WatchExtended && version < 2 && w.Depth is ushort depth && depth != XenstoreFormat.UnlimitedDepth)
                        {
                            errors.Add(Describe(r) + ": a watch limited to depth " + depth.ToString(CultureInfo.InvariantCulture) + " needs version 2 (WATCH_DATA_EXTENDED)");
                        }

                        break;
                    case XenstoreTransactionRecord t when !connections.Contains(t.ConnectionId):
                        errors.Add(Describe(r) + ": the transaction belongs to connection " + t.ConnectionId.ToString(CultureInfo.InvariantCulture) + ", which the dump does not contain");
                        break;
                }
            }

            return errors;
        }

        /// <summary>Writes the dump: header, records in dependency order, END.</summary>
        public void Write(Stream output, uint version, bool bigEndian)
        {
            IReadOnlyList<string> errors = Validate(version);
            if (errors.Count > 0)
            {
                throw new InvalidDataException("The records cannot be written as a xenstore dump: " + string.Join("; ", errors.Take(10)) + (errors.Count > 10 ? string.Format(CultureInfo.InvariantCulture, "; and {0} more", errors.Count - 10) : string.Empty));
            }

            var writer = new XenstoreDumpWriter(output, version, bigEndian);
            writer.WriteHeader();
            foreach (XenstoreRecord r in Ordered())
            {
                writer.Write(r);
            }

            writer.WriteEnd();
        }

        /// <summary>The records in the order they will be written (intermediate nodes included).</summary>
        public IReadOnlyList<XenstoreRecord> Ordered()
        {
            List<XenstoreRecord> items = WithIntermediateNodes();
            var provided = new HashSet<string>(StringComparer.Ordinal);
            foreach (XenstoreRecord r in items)
            {
                string? key = Provides(r);
                if (key is not null)
                {
                    provided.Add(key);
                }
            }

            var emitted = new HashSet<string>(StringComparer.Ordinal);
            var waiting = new Dictionary<string, List<XenstoreRecord>>(StringComparer.Ordinal);
            var result = new List<XenstoreRecord>(items.Count);

            void Emit(XenstoreRecord r)
            {
                var queue = new Queue<XenstoreRecord>();
                queue.Enqueue(r);
                while (queue.Count > 0)
                {
                    XenstoreRecord next = queue.Dequeue();
                    result.Add(next);
                    string? key = Provides(next);
                    if (key is not null && emitted.Add(key) && waiting.TryGetValue(key, out List<XenstoreRecord>? released))
                    {
                        waiting.Remove(key);
                        foreach (XenstoreRecord w in released)
                        {
                            string? unmet = Unmet(w, provided, emitted);
                            if (unmet is null)
                            {
                                queue.Enqueue(w);
                            }
                            else
                            {
                                Wait(waiting, unmet, w);
                            }
                        }
                    }
                }
            }

            foreach (XenstoreRecord r in items)
            {
                string? unmet = Unmet(r, provided, emitted);
                if (unmet is null)
                {
                    Emit(r);
                }
                else
                {
                    Wait(waiting, unmet, r);
                }
            }

            return result;
        }

        private static void Wait(Dictionary<string, List<XenstoreRecord>> waiting, string key, XenstoreRecord r)
        {
            if (!waiting.TryGetValue(key, out List<XenstoreRecord>? list))
            {
                list = new List<XenstoreRecord>();
                waiting.Add(key, list);
            }

            list.Add(r);
        }

        // What a record must come after, if that is in the dump and not written yet.
        private static string? Unmet(XenstoreRecord r, HashSet<string> provided, HashSet<string> emitted)
        {
            string? need = r switch
            {
                XenstoreWatchRecord w => "conn:" + w.ConnectionId.ToString(CultureInfo.InvariantCulture),
                XenstoreTransactionRecord t => "conn:" + t.ConnectionId.ToString(CultureInfo.InvariantCulture),
                XenstoreNodeRecord { IsPending: true } n => "tx:" + n.ConnectionId.ToString(CultureInfo.InvariantCulture) + ":" + n.TransactionId.ToString(CultureInfo.InvariantCulture),
                XenstoreNodeRecord n when XenstoreFormat.ParentOf(n.Path) is string parent => "node:" + parent,
                _ => null,
            };
            return need is not null && provided.Contains(need) && !emitted.Contains(need) ? need : null;
        }

        private static string? Provides(XenstoreRecord r) => r switch
        {
            XenstoreConnectionRecord c => "conn:" + c.ConnectionId.ToString(CultureInfo.InvariantCulture),
            XenstoreTransactionRecord t => "tx:" + t.ConnectionId.ToString(CultureInfo.InvariantCulture) + ":" + t.TransactionId.ToString(CultureInfo.InvariantCulture),
            XenstoreNodeRecord { IsPending: false } n => "node:" + n.Path,
            _ => null,
        };

        // Nodes added below a root get the missing nodes between the root and them, inserted
        // just before the first node that needs them.
        private List<XenstoreRecord> WithIntermediateNodes()
        {
            if (_rooted.Count == 0)
            {
                return _records;
            }

            var existing = new HashSet<string>(_records.OfType<XenstoreNodeRecord>().Where(n => !n.IsPending).Select(n => n.Path), StringComparer.Ordinal);
            var roots = new Dictionary<XenstoreNodeRecord, string>();
            foreach (var (root, node) in _rooted)
            {
                roots[node] = root;
            }

            var result = new List<XenstoreRecord>(_records.Count + 16);
            foreach (XenstoreRecord r in _records)
            {
                if (r is XenstoreNodeRecord node && roots.TryGetValue(node, out string? root))
                {
                    var missing = new Stack<string>();
                    for (string? p = XenstoreFormat.ParentOf(node.Path); p is not null && p.Length > root.Length && p.StartsWith(root + "/", StringComparison.Ordinal); p = XenstoreFormat.ParentOf(p))
                    {
                        if (existing.Add(p))
                        {
                            missing.Push(p);
                        }
                    }

                    while (missing.Count > 0)
                    {
                        result.Add(new XenstoreNodeRecord(missing.Pop(), Array.Empty<byte>(), node.Permissions));
                    }
                }

                result.Add(r);
            }

            return result;
        }

        private static void CheckNode(XenstoreNodeRecord n, List<string> errors, HashSet<string> committed, HashSet<(uint, uint, string)> pending, HashSet<(uint, uint)> transactions)
        {
            string? pathProblem = XenstoreFormat.CheckNodePath(n.Path);
            if (pathProblem is not null)
            {
                errors.Add(Describe(n) + ": " + pathProblem);
            }

            if (n.ValueBytes.Length > XenstoreFormat.MaxValueLength)
            {
                errors.Add(string.Format(CultureInfo.InvariantCulture, "{0}: the value is {1} bytes, more than xenstore's {2}", Describe(n), n.ValueBytes.Length, XenstoreFormat.MaxValueLength));
            }

            if (n.IsPending)
            {
                if (!transactions.Contains((n.ConnectionId, n.TransactionId)))
                {
                    errors.Add(string.Format(CultureInfo.InvariantCulture, "{0}: the node is pending in transaction {1} of connection {2}, which the dump does not contain", Describe(n), n.TransactionId, n.ConnectionId));
                }

                if (!pending.Add((n.ConnectionId, n.TransactionId, n.Path)))
                {
                    errors.Add(Describe(n) + ": the node appears twice in its transaction");
                }

                return;
            }

            if (n.Permissions.Count == 0)
            {
                errors.Add(Describe(n) + ": a node needs at least one permission (the first names the owner)");
            }

            if (!committed.Add(n.Path))
            {
                errors.Add(Describe(n) + ": the path appears twice");
            }
        }

        private static string Describe(XenstoreRecord r)
        {
            string what = r is XenstoreNodeRecord n ? "node " + n.Path : r.Type.ToString();
            return r.Index >= 0 && r.FilePath is not null
                ? string.Format(CultureInfo.InvariantCulture, "{0} (record #{1} of {2})", what, r.Index, r.FilePath)
                : what;
        }
    }
}
