using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Xenstore
{
    /// <summary>
    /// Pull reader of oxenstored's own live-update dump (docs/formats §5.9): a text file, the line
    /// <c>$xenstored-dump-format</c>, then one entry a line with hex-encoded strings. Its entries
    /// become the records of the binary migration format, so Import-XenstoreDump gives the same
    /// objects for both daemons and Export-XenstoreDump writes either as the binary format:
    /// <c>global</c> and <c>evtchn-dev</c> are GLOBAL_DATA, <c>dom</c> and <c>socket</c>
    /// CONNECTION_DATA (numbered 1, 2, ... in file order), <c>watch</c> WATCH_DATA (its connection
    /// a domain id, or minus a socket's descriptor), <c>store</c> NODE_DATA. What the binary format
    /// has no field for is listed in <see cref="Unmapped"/>.
    /// </summary>
    public sealed class OxenstoredDumpReader : IRecordReader<XenstoreRecord>
    {
        /// <summary>The first line of every oxenstored dump.</summary>
        public const string Magic = "$xenstored-dump-format";

        // A store line holds a path (at most 3072 bytes), a value (4096) and permissions, each as hex.
        private const int MaxLine = 64 * 1024;

        private readonly Stream _stream;
        private readonly bool _leaveOpen;
        private readonly string? _path;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly Dictionary<long, uint> _connections = new Dictionary<long, uint>();
        private readonly List<string> _unmapped = new List<string>();
        private readonly Queue<XenstoreRecord> _ready = new Queue<XenstoreRecord>();
        private int _bufferPos;
        private int _bufferLength;
        private long _position;
        private long _lineNumber;
        private long _index;
        private int? _globalRw;
        private long _globalOffset;
        private bool _headerRead;
        private bool _ended;
        private uint _nextConnection = 1;

        /// <summary>Creates a reader over <paramref name="stream"/>, seekable or not.</summary>
        public OxenstoredDumpReader(Stream stream, bool leaveOpen = false, string? sourcePath = null)
        {
            _stream = stream ?? throw new ArgumentNullException(nameof(stream));
            _leaveOpen = leaveOpen;
            _path = sourcePath;
        }

        /// <summary>Bytes consumed so far.</summary>
        public long Position => _position;

        /// <summary>Length of a seekable input; null otherwise.</summary>
        public long? Length => _stream.CanSeek ? _stream.Length : null;

        /// <summary>
        /// What the dump holds that the binary migration format has no field for (each once, with the
        /// first line it was seen on): the event channel device's VIRQ_DOM_EXC port, a domain's ring
        /// frame and the guest's end of its event channel, unknown lines oxenstored itself would ignore.
        /// </summary>
        public IReadOnlyList<string> Unmapped => _unmapped;

        /// <summary>True for input starting with <see cref="Magic"/> and a newline.</summary>
        public static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.HasAsciiPrefix(head, Magic + "\n");

        /// <summary>Reads the next record; null at the end of the file.</summary>
        /// <exception cref="XenFormatException">A line is malformed, too long, or refers to a connection no earlier line defines.</exception>
        public XenstoreRecord? ReadNext()
        {
            while (_ready.Count == 0 && !_ended)
            {
                long offset = _position;
                string? line = ReadLine();
                if (line is null)
                {
                    FlushGlobal(null, offset);
                    _ended = true;
                    break;
                }

                if (!_headerRead)
                {
                    if (line != Magic)
                    {
                        throw new XenFormatException(XenErrorIds.UnrecognizedFormat, "The file does not start with the line \"" + Magic + "\": it is not an oxenstored dump.", 0);
                    }

                    _headerRead = true;
                    continue;
                }

                Parse(line, offset);
            }

            if (_ready.Count == 0)
            {
                return null;
            }

            XenstoreRecord record = _ready.Dequeue();
            record.FilePath = _path;
            record.Index = _index++;
            return record;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }

        private void Parse(string line, long offset)
        {
            string[] f = line.Split(',');
            long length = Encoding.UTF8.GetByteCount(line) + 1;
            if (f[0] != "evtchn-dev")
            {
                FlushGlobal(null, offset);
            }

            switch (f[0])
            {
                case "global" when f.Length >= 2:
                    // Later fields (a read-only socket of older versions) are ignored, as oxenstored does.
                    _globalRw = Int(f[1], offset, "the socket descriptor");
                    _globalOffset = offset;
                    return;
                case "evtchn-dev" when f.Length == 3:
                    Note("the event channel device's VIRQ_DOM_EXC port (" + f[2] + "): the C daemon binds it anew", offset);
                    FlushGlobal(Int(f[1], offset, "the event channel descriptor"), offset);
                    return;
                case "socket" when f.Length == 2:
                {
                    int fd = Int(f[1], offset, "the socket descriptor");
                    uint id = NewConnection(-(long)fd, offset);
                    Add(new XenstoreConnectionRecord(id, (ushort)XenstoreConnectionType.Socket, 0, 0, XenstoreFormat.DomidInvalid, 0, fd, Array.Empty<byte>(), Array.Empty<byte>(), 0, null), offset, length);
                    return;
                }

                case "dom" when f.Length >= 4:
                {
                    int domid = Int(f[1], offset, "the domain id");
                    if (domid < 0 || domid > 0x7FEF)
                    {
                        throw Bad(offset, "domain id " + f[1] + " is not a domain");
                    }

                    Long(f[2], offset, "the ring frame");
                    int remote = Int(f[3], offset, "the event channel port");
                    int? local = f.Length >= 5 ? Int(f[4], offset, "the local event channel port") : null;
                    Note("a domain's ring frame and the guest's event channel port (dom " + f[1] + ": frame " + f[2] + ", port " + f[3] + "): the C daemon maps the ring from the grant table and keeps only its own port", offset);
                    uint id = NewConnection(domid, offset);
                    Add(new XenstoreConnectionRecord(id, (ushort)domid, (uint)(local ?? remote)), offset, length);
                    return;
                }

                case "watch" when f.Length == 4:
                {
                    long owner = Int(f[1], offset, "the watch's connection");
                    if (!_connections.TryGetValue(owner, out uint id))
                    {
                        throw Bad(offset, string.Format(CultureInfo.InvariantCulture, "the watch belongs to {0}, which no earlier dom or socket line defines", owner < 0 ? "socket " + (-owner).ToString(CultureInfo.InvariantCulture) : "domain " + owner.ToString(CultureInfo.InvariantCulture)));
                    }

                    Add(new XenstoreWatchRecord(id, Text(Hex(f[2], offset, "the watch path")), Text(Hex(f[3], offset, "the watch token"))), offset, length);
                    return;
                }

                case "store" when f.Length == 4:
                {
                    string path = Text(Hex(f[1], offset, "the node path"));
                    byte[] perms = Hex(f[2], offset, "the node permissions");
                    byte[] value = Hex(f[3], offset, "the node value");
                    Add(new XenstoreNodeRecord(path, value, Permissions(perms, offset)), offset, length);
                    return;
                }

                default:
                    // oxenstored logs "ignoring unknown line" and goes on; so does this reader.
                    Note("a line oxenstored would ignore: \"" + (line.Length > 40 ? line.Substring(0, 40) + "..." : line) + "\"", offset);
                    return;
            }
        }

        // GLOBAL_DATA carries both descriptors: it is written when the line after "global" is known.
        private void FlushGlobal(int? evtchnFd, long offset)
        {
            if (_globalRw is int rw)
            {
                _globalRw = null;
                Add(new XenstoreGlobalRecord(rw, evtchnFd ?? -1), _globalOffset, offset - _globalOffset);
            }
            else if (evtchnFd is int fd)
            {
                Add(new XenstoreGlobalRecord(-1, fd), offset, 0);
            }
        }

        private uint NewConnection(long key, long offset)
        {
            if (_connections.ContainsKey(key))
            {
                throw Bad(offset, string.Format(CultureInfo.InvariantCulture, "{0} is defined twice", key < 0 ? "socket " + (-key).ToString(CultureInfo.InvariantCulture) : "domain " + key.ToString(CultureInfo.InvariantCulture)));
            }

            uint id = _nextConnection++;
            _connections[key] = id;
            return id;
        }

        private void Add(XenstoreRecord record, long offset, long length)
        {
            record.Offset = offset;
            record.Length = length;
            _ready.Enqueue(record);
        }

        private void Note(string what, long offset)
        {
            string kind = what.Substring(0, what.IndexOf('(') is int p && p > 0 ? p : what.Length);
            foreach (string seen in _unmapped)
            {
                if (seen.StartsWith(kind, StringComparison.Ordinal))
                {
                    return;
                }
            }

            _unmapped.Add(what + string.Format(CultureInfo.InvariantCulture, " [first at line {0}, offset {1}]", _lineNumber, offset));
        }

        // Perms.Node.to_string: the owner's entry then the ACL, each a letter (n, r, w, b) and a domain id, NUL-separated.
        private static List<XenstorePermission> Permissions(byte[] bytes, long offset)
        {
            var list = new List<XenstorePermission>();
            foreach (string entry in Encoding.ASCII.GetString(bytes).Split('\0'))
            {
                if (entry.Length == 0)
                {
                    continue;
                }

                if (entry.Length < 2 || !XenstoreFormat.TryAccessOf(entry[0], out XenstoreAccess access)
                    || !ushort.TryParse(entry.Substring(1), NumberStyles.None, CultureInfo.InvariantCulture, out ushort domid))
                {
                    throw Bad(offset, "the permission \"" + entry + "\" is not a letter n, r, w or b and a domain id");
                }

                list.Add(new XenstorePermission(access, domid));
            }

            if (list.Count == 0)
            {
                throw Bad(offset, "a node has no permissions (not even its owner)");
            }

            return list;
        }

        private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

        private static byte[] Hex(string hex, long offset, string what)
        {
            if (hex.Length % 2 != 0)
            {
                throw Bad(offset, what + " has an odd number of hex digits");
            }

            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                int hi = Digit(hex[2 * i]), lo = Digit(hex[(2 * i) + 1]);
                if (hi < 0 || lo < 0)
                {
                    throw Bad(offset, what + " is not hex");
                }

                bytes[i] = (byte)((hi << 4) | lo);
            }

            return bytes;
        }

        private static int Digit(char c) => c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        private static int Int(string text, long offset, string what)
        {
            long v = Long(text, offset, what);
            if (v > int.MaxValue || v < -int.MaxValue)
            {
                throw Bad(offset, what + " \"" + text + "\" is out of range");
            }

            return (int)v;
        }

        // OCaml's int_of_string and Nativeint.of_string: decimal or 0x-prefixed, a leading minus.
        private static long Long(string text, long offset, string what)
        {
            string t = text;
            bool negative = t.StartsWith("-", StringComparison.Ordinal);
            if (negative)
            {
                t = t.Substring(1);
            }

            bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? long.TryParse(t.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long v)
                : long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
            if (!ok || v < 0)
            {
                throw Bad(offset, what + " \"" + text + "\" is not a number");
            }

            return negative ? -v : v;
        }

        private static XenFormatException Bad(long offset, string what) =>
            new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The oxenstored dump's line at offset {0} is malformed: {1}.", offset, what), offset);

        // One line, without its newline; null at the end. Lines are bounded: a longer one is refused.
        private string? ReadLine()
        {
            var line = new MemoryStream();
            while (true)
            {
                if (_bufferPos == _bufferLength)
                {
                    _bufferLength = _stream.Read(_buffer, 0, _buffer.Length);
                    _bufferPos = 0;
                    if (_bufferLength <= 0)
                    {
                        _bufferLength = 0;
                        if (line.Length == 0)
                        {
                            return null;
                        }

                        break;   // a last line without a newline
                    }
                }

                int nl = Array.IndexOf(_buffer, (byte)'\n', _bufferPos, _bufferLength - _bufferPos);
                int end = nl < 0 ? _bufferLength : nl;
                line.Write(_buffer, _bufferPos, end - _bufferPos);
                _position += end - _bufferPos + (nl < 0 ? 0 : 1);
                _bufferPos = nl < 0 ? _bufferLength : nl + 1;
                if (line.Length > MaxLine)
                {
                    throw new XenFormatException(XenErrorIds.RecordTooLarge, string.Format(CultureInfo.InvariantCulture, "The oxenstored dump's line {0} is longer than {1} bytes: no entry of the format can be.", _lineNumber + 1, MaxLine), _position);
                }

                if (nl >= 0)
                {
                    break;
                }
            }

            _lineNumber++;
            string text = Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length);
            return text.EndsWith("\r", StringComparison.Ordinal) ? text.Substring(0, text.Length - 1) : text;
        }
    }
}
