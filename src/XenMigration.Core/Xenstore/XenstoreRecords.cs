using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Xenstore
{
    /// <summary>
    /// One record of a xenstore dump. Records read by <see cref="XenstoreDumpReader"/> remember
    /// their exact bytes, so writing them back to a dump of the same version and byte order
    /// reproduces the input byte for byte; other records are encoded from their fields.
    /// </summary>
    public abstract class XenstoreRecord
    {
        private protected XenstoreRecord(XenstoreRecordType type)
        {
            Type = type;
            Index = -1;
            Offset = -1;
        }

        /// <summary>The dump file the record was read from (null for records built in memory).</summary>
        public string? FilePath { get; internal set; }

        /// <summary>Byte offset of the record in the dump, or -1.</summary>
        public long Offset { get; internal set; }

        /// <summary>Zero-based position in the dump (the header is 0), or -1.</summary>
        public long Index { get; internal set; }

        /// <summary>The record type.</summary>
        public XenstoreRecordType Type { get; }

        /// <summary>The type code on the wire (null for the header).</summary>
        public uint? TypeCode => Type == XenstoreRecordType.Header ? null : Type == XenstoreRecordType.Unknown ? UnknownCode : (uint)Type;

        /// <summary>The record's length field as found (the C daemon counts padding in it, the spec does not).</summary>
        public long Length { get; internal set; }

        /// <summary>A one-line description.</summary>
        public abstract string Summary { get; }

        internal uint UnknownCode { get; set; }

        // The body as read (as many bytes as the length field counts) and the stream it came from:
        // written back verbatim when the target has the same version and byte order.
        internal byte[]? RawBody { get; set; }

        internal bool SourceBigEndian { get; set; }

        internal uint SourceVersion { get; set; }

        /// <summary>Encodes the body (without padding) for a dump of <paramref name="version"/>.</summary>
        internal abstract void Encode(ByteBuilder b, uint version);

        /// <inheritdoc/>
        public override string ToString() => Type + ": " + Summary;

        internal static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes.ToArray());

        /// <summary>Reads a NUL-terminated string of <paramref name="length"/> bytes (NUL included).</summary>
        internal static string CString(ref SpanReader r, int length, string what)
        {
            ReadOnlySpan<byte> s = r.Bytes(length);
            if (length == 0 || s[length - 1] != 0)
            {
                throw new System.IO.InvalidDataException(what + " is not NUL-terminated");
            }

            return Text(s.Slice(0, length - 1));
        }
    }

    /// <summary>The 16-byte header of a dump.</summary>
    public sealed class XenstoreHeaderRecord : XenstoreRecord
    {
        /// <summary>Creates a header.</summary>
        public XenstoreHeaderRecord(uint version, bool bigEndian)
            : base(XenstoreRecordType.Header)
        {
            Version = version;
            Flags = bigEndian ? XenstoreFormat.FlagBigEndian : 0;
            Length = XenstoreFormat.HeaderSize;
        }

        internal XenstoreHeaderRecord(uint version, uint flags)
            : base(XenstoreRecordType.Header)
        {
            Version = version;
            Flags = flags;
            Length = XenstoreFormat.HeaderSize;
        }

        /// <summary>Format version: 1 or 2.</summary>
        public uint Version { get; }

        /// <summary>Header flags.</summary>
        public uint Flags { get; }

        /// <summary>Flags bit 0: records are big-endian (oxenstored on big-endian hosts; the C daemon writes little-endian on x86).</summary>
        public bool IsBigEndian => (Flags & XenstoreFormat.FlagBigEndian) != 0;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "v{0}, {1}-endian", Version, IsBigEndian ? "big" : "little");

        internal override void Encode(ByteBuilder b, uint version) => throw new InvalidOperationException("The header is not a record.");
    }

    /// <summary>END: the last record.</summary>
    public sealed class XenstoreEndRecord : XenstoreRecord
    {
        /// <summary>Creates an END record.</summary>
        public XenstoreEndRecord()
            : base(XenstoreRecordType.End)
        {
        }

        /// <inheritdoc/>
        public override string Summary => string.Empty;

        internal override void Encode(ByteBuilder b, uint version)
        {
        }
    }

    /// <summary>GLOBAL_DATA: xenstored's own descriptors (live update only).</summary>
    public sealed class XenstoreGlobalRecord : XenstoreRecord
    {
        /// <summary>Creates the record.</summary>
        public XenstoreGlobalRecord(int readWriteSocketFd, int eventChannelFd)
            : base(XenstoreRecordType.Global)
        {
            ReadWriteSocketFd = readWriteSocketFd;
            EventChannelFd = eventChannelFd;
        }

        /// <summary>rw_socket_fd (-1 when none).</summary>
        public int ReadWriteSocketFd { get; }

        /// <summary>evtchn_fd.</summary>
        public int EventChannelFd { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "socket fd {0}, evtchn fd {1}", ReadWriteSocketFd, EventChannelFd);

        internal static XenstoreGlobalRecord Decode(ref SpanReader r) => new XenstoreGlobalRecord(r.I32(), r.I32());

        internal override void Encode(ByteBuilder b, uint version) => b.I32(ReadWriteSocketFd).I32(EventChannelFd);
    }

    /// <summary>CONNECTION_DATA: a connection to xenstored and its unprocessed data.</summary>
    public sealed class XenstoreConnectionRecord : XenstoreRecord
    {
        /// <summary>Creates a shared-ring connection record for <paramref name="domainId"/>.</summary>
        public XenstoreConnectionRecord(uint connectionId, ushort domainId, uint eventChannel, ushort targetDomainId = XenstoreFormat.DomidInvalid)
            : this(connectionId, (ushort)XenstoreConnectionType.SharedRing, 0, domainId, targetDomainId, eventChannel, 0, Array.Empty<byte>(), Array.Empty<byte>(), 0, null)
        {
        }

        internal XenstoreConnectionRecord(uint connectionId, ushort connectionType, ushort fields, ushort domainId, ushort targetDomainId, uint eventChannel, int socketFd, byte[] inData, byte[] outData, ushort outResponseLength, ulong? uniqueId)
            : base(XenstoreRecordType.Connection)
        {
            ConnectionId = connectionId;
            ConnectionTypeCode = connectionType;
            Fields = fields;
            DomainId = domainId;
            TargetDomainId = targetDomainId;
            EventChannel = eventChannel;
            SocketFd = socketFd;
            _inData = inData;
            _outData = outData;
            OutResponseLength = outResponseLength;
            UniqueId = uniqueId;
        }

        /// <summary>conn_id, referenced by later records.</summary>
        public uint ConnectionId { get; }
        /// <summary>The raw connection type.</summary>
        public ushort ConnectionTypeCode { get; }
        /// <summary>Shared ring or socket (other values are reserved).</summary>
        public XenstoreConnectionType ConnectionType => (XenstoreConnectionType)ConnectionTypeCode;
        /// <summary>The fields word (bit 0: unique_id present).</summary>
        public ushort Fields { get; }
        /// <summary>Shared ring: the domain.</summary>
        public ushort DomainId { get; }
        /// <summary>Shared ring: the target domain (0x7FF4 when none).</summary>
        public ushort TargetDomainId { get; }
        /// <summary>Shared ring: xenstored's event channel port.</summary>
        public uint EventChannel { get; }
        /// <summary>Socket: the descriptor.</summary>
        public int SocketFd { get; }
        /// <summary>Bytes read from the connection but not processed (a copy: records do not change once read).</summary>
        public ReadOnlyBytes InData => new ReadOnlyBytes(_inData);
        private readonly byte[] _inData;
        private readonly byte[] _outData;
        /// <summary>Bytes queued for writing (a copy).</summary>
        public ReadOnlyBytes OutData => new ReadOnlyBytes(_outData);
        /// <summary>Length of a partially written response at the start of <see cref="OutData"/>.</summary>
        public ushort OutResponseLength { get; }
        /// <summary>unique_id (live update), when present.</summary>
        public ulong? UniqueId { get; }

        /// <inheritdoc/>
        public override string Summary => ConnectionType == XenstoreConnectionType.Socket
            ? string.Format(CultureInfo.InvariantCulture, "conn {0}: socket fd {1}, {2}+{3} bytes pending", ConnectionId, SocketFd, _inData.Length, _outData.Length)
            : string.Format(CultureInfo.InvariantCulture, "conn {0}: dom{1} evtchn {2}{3}, {4}+{5} bytes pending", ConnectionId, DomainId, EventChannel, TargetDomainId == XenstoreFormat.DomidInvalid ? string.Empty : " target dom" + TargetDomainId.ToString(CultureInfo.InvariantCulture), _inData.Length, _outData.Length);

        internal static XenstoreConnectionRecord Decode(ref SpanReader r)
        {
            uint conn = r.U32();
            ushort type = r.U16();
            ushort fields = r.U16();
            ushort domid = 0, target = 0;
            uint evtchn = 0;
            int fd = 0;
            if (type == (ushort)XenstoreConnectionType.Socket)
            {
                fd = r.I32();
                r.Skip(4);
            }
            else
            {
                domid = r.U16();
                target = r.U16();
                evtchn = r.U32();
            }

            ushort inLength = r.U16();
            ushort outResponse = r.U16();
            uint outLength = r.U32();
            if (outLength > (uint)r.Remaining)
            {
                throw new System.IO.InvalidDataException(string.Format(CultureInfo.InvariantCulture, "out_data_len {0} exceeds the record", outLength));
            }

            byte[] inData = r.Bytes(inLength).ToArray();
            byte[] outData = r.Bytes((int)outLength).ToArray();
            ulong? unique = null;
            if ((fields & 1) != 0)
            {
                r.Skip(RecordFrame.PaddingFor(r.Position));
                unique = r.U64();
            }

            return new XenstoreConnectionRecord(conn, type, fields, domid, target, evtchn, fd, inData, outData, outResponse, unique);
        }

        internal override void Encode(ByteBuilder b, uint version)
        {
            int start = b.Length;
            b.U32(ConnectionId).U16(ConnectionTypeCode).U16((ushort)(UniqueId is null ? Fields & ~1 : Fields | 1));
            if (ConnectionType == XenstoreConnectionType.Socket)
            {
                b.I32(SocketFd).U32(0);
            }
            else
            {
                b.U16(DomainId).U16(TargetDomainId).U32(EventChannel);
            }

            b.U16((ushort)_inData.Length).U16(OutResponseLength).U32((uint)_outData.Length).Bytes(_inData).Bytes(_outData);
            if (UniqueId is ulong id)
            {
                b.Zeros(RecordFrame.PaddingFor(b.Length - start)).U64(id);
            }
        }
    }

    /// <summary>WATCH_DATA or WATCH_DATA_EXTENDED: a watch registered by a connection.</summary>
    public sealed class XenstoreWatchRecord : XenstoreRecord
    {
        /// <summary>Creates a watch; a depth other than unlimited makes it WATCH_DATA_EXTENDED (version 2).</summary>
        public XenstoreWatchRecord(uint connectionId, string watchPath, string token, ushort? depth = null)
            : this(depth is null ? XenstoreRecordType.Watch : XenstoreRecordType.WatchExtended, connectionId, watchPath, token, depth, depth is null ? XenstoreWatchLayout.Plain : XenstoreWatchLayout.Spec)
        {
        }

        internal XenstoreWatchRecord(XenstoreRecordType type, uint connectionId, string watchPath, string token, ushort? depth, XenstoreWatchLayout layout)
            : base(type)
        {
            ConnectionId = connectionId;
            WatchPath = watchPath;
            Token = token;
            Depth = depth;
            Layout = layout;
        }

        /// <summary>The connection that registered the watch.</summary>
        public uint ConnectionId { get; }
        /// <summary>The watched path, as given in WATCH (may be relative or a special @path).</summary>
        public string WatchPath { get; }
        /// <summary>The watch token.</summary>
        public string Token { get; }
        /// <summary>Directory levels below the path that trigger the watch (WATCH_DATA_EXTENDED); null or 0xFFFF = unlimited.</summary>
        public ushort? Depth { get; }
        /// <summary>Which of the layouts the record was found in.</summary>
        public XenstoreWatchLayout Layout { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "conn {0}: {1} token {2}{3}", ConnectionId, WatchPath, Token, Type != XenstoreRecordType.WatchExtended
            ? string.Empty
            : (Depth is ushort d ? (d == XenstoreFormat.UnlimitedDepth ? ", any depth" : ", depth " + d.ToString(CultureInfo.InvariantCulture)) : ", depth not stored") + " (" + Layout + " layout)");

        internal static XenstoreWatchRecord Decode(ReadOnlySpan<byte> body, bool bigEndian, bool extended)
        {
            if (!extended)
            {
                var r = new SpanReader(body, bigEndian);
                uint conn = r.U32();
                ushort wlen = r.U16();
                ushort tlen = r.U16();
                string path = CString(ref r, wlen, "the watch path");
                string token = CString(ref r, tlen, "the watch token");
                return new XenstoreWatchRecord(XenstoreRecordType.Watch, conn, path, token, null, XenstoreWatchLayout.Plain);
            }

            // Three layouts are in circulation; take the first that parses cleanly (spec first).
            foreach (XenstoreWatchLayout layout in new[] { XenstoreWatchLayout.Spec, XenstoreWatchLayout.CStruct, XenstoreWatchLayout.CWriter })
            {
                var r = new SpanReader(body, bigEndian);
                if (r.Remaining < 8)
                {
                    break;
                }

                uint conn = r.U32();
                ushort wlen = r.U16();
                ushort tlen = r.U16();
                int stringsAt = layout == XenstoreWatchLayout.Spec ? 12 : layout == XenstoreWatchLayout.CStruct ? 10 : 8;
                if (body.Length < stringsAt + wlen + tlen || wlen == 0 || tlen == 0)
                {
                    continue;
                }

                ushort? depth = layout == XenstoreWatchLayout.CWriter ? null : r.U16();
                if (layout == XenstoreWatchLayout.Spec && r.U16() != 0)
                {
                    continue;
                }

                ReadOnlySpan<byte> path = body.Slice(stringsAt, wlen);
                ReadOnlySpan<byte> token = body.Slice(stringsAt + wlen, tlen);
                ReadOnlySpan<byte> rest = body.Slice(stringsAt + wlen + tlen);
                if (path[wlen - 1] != 0 || token[tlen - 1] != 0 || path.Slice(0, wlen - 1).IndexOf((byte)0) >= 0 || token.Slice(0, tlen - 1).IndexOf((byte)0) >= 0 || !AllZero(rest))
                {
                    continue;
                }

                return new XenstoreWatchRecord(XenstoreRecordType.WatchExtended, conn, Text(path.Slice(0, wlen - 1)), Text(token.Slice(0, tlen - 1)), depth, layout);
            }

            throw new System.IO.InvalidDataException("the record matches none of the three WATCH_DATA_EXTENDED layouts (strings at offset 12, 10 or 8)");
        }

        private static bool AllZero(ReadOnlySpan<byte> bytes)
        {
            foreach (byte x in bytes)
            {
                if (x != 0)
                {
                    return false;
                }
            }

            return true;
        }

        internal override void Encode(ByteBuilder b, uint version)
        {
            byte[] path = Encoding.UTF8.GetBytes(WatchPath);
            byte[] token = Encoding.UTF8.GetBytes(Token);
            b.U32(ConnectionId).U16((ushort)(path.Length + 1)).U16((ushort)(token.Length + 1));
            if (Type == XenstoreRecordType.WatchExtended)
            {
                b.U16(Depth ?? XenstoreFormat.UnlimitedDepth).U16(0);
            }

            b.Bytes(path).U8(0).Bytes(token).U8(0);
        }
    }

    /// <summary>TRANSACTION_DATA: an open transaction of a connection.</summary>
    public sealed class XenstoreTransactionRecord : XenstoreRecord
    {
        /// <summary>Creates the record.</summary>
        public XenstoreTransactionRecord(uint connectionId, uint transactionId)
            : base(XenstoreRecordType.Transaction)
        {
            ConnectionId = connectionId;
            TransactionId = transactionId;
        }

        /// <summary>The connection.</summary>
        public uint ConnectionId { get; }
        /// <summary>The transaction id returned by TRANSACTION_START.</summary>
        public uint TransactionId { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "conn {0}: transaction {1}", ConnectionId, TransactionId);

        internal override void Encode(ByteBuilder b, uint version) => b.U32(ConnectionId).U32(TransactionId);
    }

    /// <summary>NODE_DATA: a node, committed or pending in a transaction.</summary>
    public sealed class XenstoreNodeRecord : XenstoreRecord
    {
        private readonly byte[] _value;

        /// <summary>Creates a committed node.</summary>
        public XenstoreNodeRecord(string path, byte[] value, IReadOnlyList<XenstorePermission> permissions)
            : this(0, 0, path, value, XenstoreNodeAccess.None, permissions)
        {
        }

        /// <summary>Creates a node; a non-zero <paramref name="connectionId"/> makes it pending in transaction (connectionId, transactionId).</summary>
        public XenstoreNodeRecord(uint connectionId, uint transactionId, string path, byte[] value, XenstoreNodeAccess access, IReadOnlyList<XenstorePermission> permissions)
            : base(XenstoreRecordType.Node)
        {
            ConnectionId = connectionId;
            TransactionId = transactionId;
            Path = path ?? throw new ArgumentNullException(nameof(path));
            _value = value ?? Array.Empty<byte>();
            Access = access;
            Permissions = permissions is null ? Array.Empty<XenstorePermission>() : ReadOnlyView.Of(permissions as IList<XenstorePermission> ?? new List<XenstorePermission>(permissions));
        }

        /// <summary>0 for a committed node; else the connection of the transaction it is pending in.</summary>
        public uint ConnectionId { get; }
        /// <summary>The transaction (meaningful when <see cref="ConnectionId"/> is not 0).</summary>
        public uint TransactionId { get; }
        /// <summary>The absolute node path.</summary>
        public string Path { get; }
        /// <summary>The value's bytes (may contain NULs).</summary>
        public ReadOnlyBytes ValueBytes => new ReadOnlyBytes(_value);

        /// <summary>The value's length in bytes, without copying it.</summary>
        public int ValueLength => _value.Length;
        /// <summary>The value as text when it is printable UTF-8; null otherwise (see <see cref="ValueBytes"/>).</summary>
        public string? Value => IsPrintable(_value) ? Encoding.UTF8.GetString(_value) : null;
        /// <summary>Whether <see cref="Value"/> holds the value.</summary>
        public bool ValueIsText => IsPrintable(_value);
        /// <summary>Pending nodes: what the transaction did.</summary>
        public XenstoreNodeAccess Access { get; }
        /// <summary>Permissions; the first names the owner.</summary>
        public IReadOnlyList<XenstorePermission> Permissions { get; }
        /// <summary>The owning domain (first permission), or null when there are none.</summary>
        public ushort? Owner => Permissions.Count == 0 ? null : Permissions[0].DomainId;
        /// <summary>True when the node is pending in a transaction.</summary>
        public bool IsPending => ConnectionId != 0;
        /// <summary>True for a node deleted in its transaction (no permissions).</summary>
        public bool IsDeleted => IsPending && Permissions.Count == 0;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "{0} = {1} [{2}]{3}", Path, ValueIsText ? "\"" + Value + "\"" : _value.Length.ToString(CultureInfo.InvariantCulture) + " bytes", string.Join(",", Permissions), IsPending ? string.Format(CultureInfo.InvariantCulture, " (conn {0} tx {1}{2})", ConnectionId, TransactionId, IsDeleted ? " deleted" : string.Empty) : string.Empty);

        internal static XenstoreNodeRecord Decode(ref SpanReader r)
        {
            uint conn = r.U32();
            uint tx = r.U32();
            ushort pathLength = r.U16();
            ushort valueLength = r.U16();
            ushort access = r.U16();
            ushort count = r.U16();
            var perms = new XenstorePermission[count];
            for (int i = 0; i < count; i++)
            {
                byte letter = r.U8();
                byte flags = r.U8();
                ushort domid = r.U16();
                if (!XenstoreFormat.TryAccessOf((char)letter, out XenstoreAccess a))
                {
                    throw new System.IO.InvalidDataException(string.Format(CultureInfo.InvariantCulture, "permission {0} has letter 0x{1:x2}, not n, r, w or b", i, letter));
                }

                perms[i] = new XenstorePermission(a, domid, (flags & 1) != 0);
            }

            string path = CString(ref r, pathLength, "the node path");
            byte[] value = r.Bytes(valueLength).ToArray();
            return new XenstoreNodeRecord(conn, tx, path, value, (XenstoreNodeAccess)access, perms);
        }

        internal override void Encode(ByteBuilder b, uint version)
        {
            byte[] path = Encoding.UTF8.GetBytes(Path);
            b.U32(ConnectionId).U32(TransactionId).U16((ushort)(path.Length + 1)).U16((ushort)_value.Length).U16((ushort)Access).U16((ushort)Permissions.Count);
            foreach (XenstorePermission p in Permissions)
            {
                b.U8((byte)p.Letter).U8(p.Stale ? (byte)1 : (byte)0).U16(p.DomainId);
            }

            b.Bytes(path).U8(0).Bytes(_value);
        }

        private static bool IsPrintable(byte[] value)
        {
            foreach (byte c in value)
            {
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                {
                    return false;
                }
            }

            try
            {
                new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }

    /// <summary>A named quota value.</summary>
    public sealed class XenstoreQuota
    {
        /// <summary>Creates a quota.</summary>
        public XenstoreQuota(string name, uint value)
        {
            Name = name;
            Value = value;
        }

        /// <summary>The quota's name.</summary>
        public string Name { get; }
        /// <summary>Its value (0 = unlimited).</summary>
        public uint Value { get; }

        /// <inheritdoc/>
        public override string ToString() => Name + "=" + Value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>GLOBAL_QUOTA_DATA (live update only).</summary>
    public sealed class XenstoreGlobalQuotaRecord : XenstoreRecord
    {
        /// <summary>Creates the record.</summary>
        public XenstoreGlobalQuotaRecord(IReadOnlyList<XenstoreQuota> domainQuotas, IReadOnlyList<XenstoreQuota> globalQuotas)
            : base(XenstoreRecordType.GlobalQuota)
        {
            DomainQuotas = ReadOnlyView.Of(domainQuotas);
            GlobalQuotas = ReadOnlyView.Of(globalQuotas);
        }

        /// <summary>Per-domain defaults.</summary>
        public IReadOnlyList<XenstoreQuota> DomainQuotas { get; }
        /// <summary>Global-only quotas.</summary>
        public IReadOnlyList<XenstoreQuota> GlobalQuotas { get; }

        /// <inheritdoc/>
        public override string Summary => string.Join(", ", DomainQuotas.Concat(GlobalQuotas));

        internal static XenstoreGlobalQuotaRecord Decode(ref SpanReader r)
        {
            int dom = r.U16();
            int glob = r.U16();
            XenstoreQuota[] all = Quotas(ref r, dom + glob);
            return new XenstoreGlobalQuotaRecord(all.Take(dom).ToArray(), all.Skip(dom).ToArray());
        }

        internal override void Encode(ByteBuilder b, uint version)
        {
            b.U16((ushort)DomainQuotas.Count).U16((ushort)GlobalQuotas.Count);
            EncodeQuotas(b, DomainQuotas.Concat(GlobalQuotas).ToList());
        }

        internal static XenstoreQuota[] Quotas(ref SpanReader r, int count)
        {
            if (count * 4 > r.Remaining)
            {
                throw new System.IO.InvalidDataException(string.Format(CultureInfo.InvariantCulture, "{0} quota values do not fit the record", count));
            }

            var values = new uint[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = r.U32();
            }

            var quotas = new XenstoreQuota[count];
            for (int i = 0; i < count; i++)
            {
                int start = r.Position;
                int n = 0;
                while (true)
                {
                    if (r.Remaining == 0)
                    {
                        throw new System.IO.InvalidDataException("a quota name is not NUL-terminated");
                    }

                    if (r.U8() == 0)
                    {
                        break;
                    }

                    n++;
                }

                quotas[i] = new XenstoreQuota(r.Utf8At(start, n), values[i]);
            }

            return quotas;
        }

        internal static void EncodeQuotas(ByteBuilder b, IReadOnlyList<XenstoreQuota> quotas)
        {
            foreach (XenstoreQuota q in quotas)
            {
                b.U32(q.Value);
            }

            foreach (XenstoreQuota q in quotas)
            {
                b.Text(q.Name, nulTerminate: true);
            }
        }
    }

    /// <summary>DOMAIN_DATA: per-domain quotas and ring features.</summary>
    public sealed class XenstoreDomainRecord : XenstoreRecord
    {
        /// <summary>Creates the record.</summary>
        public XenstoreDomainRecord(ushort domainId, uint features, IReadOnlyList<XenstoreQuota> quotas)
            : base(XenstoreRecordType.Domain)
        {
            DomainId = domainId;
            Features = features;
            Quotas = ReadOnlyView.Of(quotas);
        }

        /// <summary>The domain.</summary>
        public ushort DomainId { get; }
        /// <summary>Ring features (valid from version 2; 0 in version 1).</summary>
        public uint Features { get; }
        /// <summary>The domain's quotas.</summary>
        public IReadOnlyList<XenstoreQuota> Quotas { get; }

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "dom{0}, features 0x{1:x}{2}", DomainId, Features, Quotas.Count == 0 ? string.Empty : ", " + string.Join(", ", Quotas));

        internal static XenstoreDomainRecord Decode(ref SpanReader r, uint version)
        {
            ushort domid = r.U16();
            int count = r.U16();
            uint features = r.U32();
            return new XenstoreDomainRecord(domid, version >= 2 ? features : 0, XenstoreGlobalQuotaRecord.Quotas(ref r, count));
        }

        internal override void Encode(ByteBuilder b, uint version)
        {
            b.U16(DomainId).U16((ushort)Quotas.Count).U32(version >= 2 ? Features : 0);
            XenstoreGlobalQuotaRecord.EncodeQuotas(b, Quotas);
        }
    }

    /// <summary>A record of a type this library does not know (xenstored skips these).</summary>
    public sealed class XenstoreUnknownRecord : XenstoreRecord
    {
        internal XenstoreUnknownRecord(uint code, byte[] body)
            : base(XenstoreRecordType.Unknown)
        {
            UnknownCode = code;
            _body = body;
        }

        /// <summary>The raw body (a copy: records do not change once read).</summary>
        public ReadOnlyBytes Body => new ReadOnlyBytes(_body);

        private readonly byte[] _body;

        /// <inheritdoc/>
        public override string Summary => string.Format(CultureInfo.InvariantCulture, "type {0}, {1} bytes", UnknownCode, _body.Length);

        internal override void Encode(ByteBuilder b, uint version) => b.Bytes(_body);
    }
}
