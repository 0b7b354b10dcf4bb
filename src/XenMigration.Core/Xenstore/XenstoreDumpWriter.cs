using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using XenMigration.FileIO;
using XenMigration.Framing;

namespace XenMigration.Xenstore
{
    /// <summary>
    /// Writes xenstore dumps. Bodies are padded inside the record length (as the C daemon does), so
    /// readers of either length convention agree. Records read from a dump of the same version and
    /// byte order are written back verbatim.
    /// </summary>
    internal sealed class XenstoreDumpWriter
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
    internal sealed class XenstoreDumpPlan
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

        /// <summary>
        /// Adds key/value pairs whose keys are relative to <paramref name="root"/> (EMULATOR_XENSTORE_DATA:
        /// keys are relative to the device model's directory), each node owned by <paramref name="owner"/>.
        /// </summary>
        /// <exception cref="ArgumentException">No root was given.</exception>
        public void AddRelative(string? root, IEnumerable<KeyValuePair<string, string>> pairs, ushort owner)
        {
            if (root is null)
            {
                throw new ArgumentException("EMULATOR_XENSTORE_DATA keys are relative to the device model's directory: give a root (for example /local/domain/0/device-model/<domid>).");
            }

            var perms = new[] { new XenstorePermission(XenstoreAccess.None, owner) };
            foreach (KeyValuePair<string, string> pair in pairs)
            {
                AddBelow(root, new XenstoreNodeRecord(Combine(root, pair.Key), Encoding.UTF8.GetBytes(pair.Value), perms));
            }
        }

        /// <summary>
        /// Adds a node given by loose fields (a CSV row, a JSON object, a hashtable): a path,
        /// absolute or relative to <paramref name="root"/>; its value; and its owner and/or
        /// permissions ("b0", "r7", ... or <see cref="XenstorePermission"/>s). Without either, the
        /// node belongs to <paramref name="defaultOwner"/> with no access for others.
        /// </summary>
        /// <exception cref="ArgumentException">A relative path without a root, an empty permission list, or an owner that disagrees with the first permission.</exception>
        /// <exception cref="FormatException">A permission is not a letter and a domain id.</exception>
        public void AddNode(string path, byte[] value, string? root, ushort? owner, IEnumerable<object>? permissions, ushort defaultOwner)
        {
            bool relative = !path.StartsWith("/", StringComparison.Ordinal);
            if (relative)
            {
                if (root is null)
                {
                    throw new ArgumentException("The path '" + path + "' is relative; give a root or an absolute path.");
                }

                path = Combine(root, path);
            }

            var node = new XenstoreNodeRecord(path, value, PermissionsOf(owner, permissions, defaultOwner));
            if (relative)
            {
                AddBelow(root!, node);
            }
            else
            {
                Add(node);
            }
        }

        private static IReadOnlyList<XenstorePermission> PermissionsOf(ushort? owner, IEnumerable<object>? permissions, ushort defaultOwner)
        {
            if (permissions is null)
            {
                return new[] { new XenstorePermission(XenstoreAccess.None, owner ?? defaultOwner) };
            }

            var list = new List<XenstorePermission>();
            foreach (object p in permissions)
            {
                list.Add(p is XenstorePermission perm ? perm : XenstorePermission.Parse(Convert.ToString(p, CultureInfo.InvariantCulture) ?? string.Empty));
            }

            if (list.Count == 0)
            {
                throw new ArgumentException("Permissions is empty; the first permission names the owner.");
            }

            if (owner is ushort o && list[0].DomainId != o)
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "Owner {0} disagrees with the first permission '{1}', which names the owner.", o, list[0]));
            }

            return list;
        }

        private static string Combine(string root, string relative) => root == "/" ? "/" + relative : root + "/" + relative;

        /// <summary>Everything wrong with the collected records, as messages; empty when they can be written.</summary>
        public IReadOnlyList<string> Validate(uint version) => Analyze(version).Errors;

        /// <summary>
        /// Writes the dump to the file <paramref name="destination"/> the safe way: the destination is
        /// checked first, the dump goes to a temporary file beside it and is moved into place only when
        /// complete (<see cref="OutputFile.Commit"/>). On any failure nothing is left behind.
        /// </summary>
        /// <exception cref="InvalidDataException">The records cannot be written (see <see cref="Validate"/>).</exception>
        /// <exception cref="DestinationException">The destination may not be written.</exception>
        public void WriteFile(string destination, uint version, bool bigEndian, CommitOptions commit)
        {
            if (destination is null || commit is null)
            {
                throw new ArgumentNullException(destination is null ? nameof(destination) : nameof(commit));
            }

            destination = Path.GetFullPath(destination);
            OutputFile.Check(destination, null, commit);
            using AtomicFileWriter output = AtomicFileWriter.Create(destination);
            Write(output.Stream, version, bigEndian);
            OutputFile.Commit(output, commit);
        }

        /// <summary>Writes the dump: header, records in dependency order, END.</summary>
        public void Write(Stream output, uint version, bool bigEndian)
        {
            Analysis analysis = Analyze(version);
            if (analysis.Errors.Count > 0)
            {
                throw new InvalidDataException("The records cannot be written as a xenstore dump: " + string.Join("; ", analysis.Errors.Take(10)) + (analysis.Errors.Count > 10 ? string.Format(CultureInfo.InvariantCulture, "; and {0} more", analysis.Errors.Count - 10) : string.Empty));
            }

            var writer = new XenstoreDumpWriter(output, version, bigEndian);
            writer.WriteHeader();
            foreach (XenstoreRecord r in Order(analysis))
            {
                writer.Write(r);
            }

            writer.WriteEnd();
        }

        /// <summary>The records in the order they will be written (intermediate nodes included).</summary>
        public IReadOnlyList<XenstoreRecord> Ordered() => Order(Analyze(XenstoreFormat.CurrentVersion));

        // Writes each record after the one it depends on, keeping the given order wherever it is
        // already right: a record whose dependency is still to come waits for it, and is released
        // (with everything waiting on it, in input order) as soon as it has been written.
        private static List<XenstoreRecord> Order(Analysis a)
        {
            var result = new List<XenstoreRecord>(a.Items.Count);
            var emitted = new bool[a.Items.Count];
            var waiting = new Dictionary<int, List<int>>();
            var queue = new Queue<int>();
            for (int i = 0; i < a.Items.Count; i++)
            {
                int dep = a.DependsOn[i];
                if (dep >= 0 && !emitted[dep])
                {
                    if (!waiting.TryGetValue(dep, out List<int>? list))
                    {
                        list = new List<int>();
                        waiting.Add(dep, list);
                    }

                    list.Add(i);
                    continue;
                }

                queue.Enqueue(i);
                while (queue.Count > 0)
                {
                    int next = queue.Dequeue();
                    result.Add(a.Items[next]);
                    emitted[next] = true;
                    if (waiting.TryGetValue(next, out List<int>? released))
                    {
                        waiting.Remove(next);
                        foreach (int w in released)
                        {
                            queue.Enqueue(w);
                        }
                    }
                }
            }

            return result;
        }

        private sealed class Analysis
        {
            public Analysis(List<XenstoreRecord> items)
            {
                Items = items;
                DependsOn = new int[items.Count];
            }

            public List<XenstoreRecord> Items { get; }

            /// <summary>Index of the item each one must follow, or -1.</summary>
            public int[] DependsOn { get; }

            public List<string> Errors { get; } = new List<string>();
        }

        private Analysis Analyze(uint version)
        {
            var a = new Analysis(WithIntermediateNodes());
            var connections = new Dictionary<uint, int>();
            var transactions = new Dictionary<(uint, uint), int>();
            var committed = new Dictionary<string, int>(StringComparer.Ordinal);
            var pending = new HashSet<(uint, uint, string)>();
            var domains = new HashSet<ushort>();
            int globals = 0;
            for (int i = 0; i < a.Items.Count; i++)
            {
                switch (a.Items[i])
                {
                    case XenstoreConnectionRecord c:
                        if (connections.ContainsKey(c.ConnectionId))
                        {
                            a.Errors.Add(Describe(c) + ": connection id " + c.ConnectionId.ToString(CultureInfo.InvariantCulture) + " appears twice");
                        }
                        else
                        {
                            connections.Add(c.ConnectionId, i);
                        }

                        break;
                    case XenstoreTransactionRecord t:
                        if (transactions.ContainsKey((t.ConnectionId, t.TransactionId)))
                        {
                            a.Errors.Add(Describe(t) + ": the transaction appears twice");
                        }
                        else
                        {
                            transactions.Add((t.ConnectionId, t.TransactionId), i);
                        }

                        break;
                    case XenstoreNodeRecord { IsPending: false } n:
                        if (committed.ContainsKey(n.Path))
                        {
                            a.Errors.Add(Describe(n) + ": the path appears twice");
                        }
                        else
                        {
                            committed.Add(n.Path, i);
                        }

                        break;
                    case XenstoreDomainRecord d when !domains.Add(d.DomainId):
                        a.Errors.Add(Describe(d) + ": DOMAIN_DATA for the domain appears twice");
                        break;
                    case XenstoreGlobalRecord g when ++globals > 1:
                        a.Errors.Add(Describe(g) + ": GLOBAL_DATA appears more than once");
                        break;
                }
            }

            for (int i = 0; i < a.Items.Count; i++)
            {
                XenstoreRecord r = a.Items[i];
                a.DependsOn[i] = -1;
                switch (r)
                {
                    case XenstoreNodeRecord n:
                        CheckNode(n, a.Errors, pending, transactions);
                        if (n.IsPending)
                        {
                            a.DependsOn[i] = transactions.TryGetValue((n.ConnectionId, n.TransactionId), out int tx) ? tx : -1;
                        }
                        else if (XenstoreFormat.ParentOf(n.Path) is string parent && committed.TryGetValue(parent, out int p))
                        {
                            a.DependsOn[i] = p;
                        }

                        break;
                    case XenstoreWatchRecord w:
                        if (connections.TryGetValue(w.ConnectionId, out int wc))
                        {
                            a.DependsOn[i] = wc;
                        }
                        else
                        {
                            a.Errors.Add(Describe(r) + ": the watch belongs to connection " + w.ConnectionId.ToString(CultureInfo.InvariantCulture) + ", which the dump does not contain");
                        }

                        if (w.WatchPath.Length == 0 || w.Token.Length == 0)
                        {
                            a.Errors.Add(Describe(r) + ": the watch path and token must not be empty");
                        }

                        if (w.Type == XenstoreRecordType.WatchExtended && version < 2 && w.Depth is ushort depth && depth != XenstoreFormat.UnlimitedDepth)
                        {
                            a.Errors.Add(Describe(r) + ": a watch limited to depth " + depth.ToString(CultureInfo.InvariantCulture) + " needs version 2 (WATCH_DATA_EXTENDED)");
                        }

                        break;
                    case XenstoreTransactionRecord t:
                        if (connections.TryGetValue(t.ConnectionId, out int tc))
                        {
                            a.DependsOn[i] = tc;
                        }
                        else
                        {
                            a.Errors.Add(Describe(r) + ": the transaction belongs to connection " + t.ConnectionId.ToString(CultureInfo.InvariantCulture) + ", which the dump does not contain");
                        }

                        break;
                }
            }

            return a;
        }

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

        private static void CheckNode(XenstoreNodeRecord n, List<string> errors, HashSet<(uint, uint, string)> pending, Dictionary<(uint, uint), int> transactions)
        {
            string? pathProblem = XenstoreFormat.CheckNodePath(n.Path);
            if (pathProblem is not null)
            {
                errors.Add(Describe(n) + ": " + pathProblem);
            }

            if (n.ValueLength > XenstoreFormat.MaxValueLength)
            {
                errors.Add(string.Format(CultureInfo.InvariantCulture, "{0}: the value is {1} bytes, more than xenstore's {2}", Describe(n), n.ValueLength, XenstoreFormat.MaxValueLength));
            }

            if (n.IsPending)
            {
                if (!transactions.ContainsKey((n.ConnectionId, n.TransactionId)))
                {
                    errors.Add(string.Format(CultureInfo.InvariantCulture, "{0}: the node is pending in transaction {1} of connection {2}, which the dump does not contain", Describe(n), n.TransactionId, n.ConnectionId));
                }

                if (!pending.Add((n.ConnectionId, n.TransactionId, n.Path)))
                {
                    errors.Add(Describe(n) + ": the node appears twice in its transaction");
                }
            }
            else if (n.Permissions.Count == 0)
            {
                errors.Add(Describe(n) + ": a node needs at least one permission (the first names the owner)");
            }

            if (n.Permissions.Count > ushort.MaxValue)
            {
                // The record stores the count in 16 bits.
                errors.Add(string.Format(CultureInfo.InvariantCulture, "{0}: {1} permissions, more than the {2} a node record can hold", Describe(n), n.Permissions.Count, ushort.MaxValue));
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
