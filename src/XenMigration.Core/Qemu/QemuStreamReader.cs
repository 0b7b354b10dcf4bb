using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>Options of a <see cref="QemuStreamReader"/>.</summary>
    public sealed class QemuStreamReaderOptions
    {
        /// <summary>File name stamped on every record's FilePath.</summary>
        public string? SourcePath { get; set; }

        /// <summary>Offset of the stream's first byte in the file (a libvirt header or Xen record before it); added to every offset reported.</summary>
        public long BaseOffset { get; set; }

        /// <summary>Guest memory to collect while reading (see <see cref="QemuStreamReader.ReadMemory"/>).</summary>
        public QemuMemoryRequest? Memory { get; set; }

        /// <summary>Stops the reading (OperationCanceledException) when signalled: checked as pages and fields stream past.</summary>
        public System.Threading.CancellationToken CancellationToken { get; set; }

        /// <summary>Receives every page as it is read (guest memory export); pages are then decoded, not skipped.</summary>
        internal IQemuPageSink? PageSink { get; set; }

        internal string? DescriptionJson { get; set; }

        /// <summary>A copy, for one of several streams opened with the same options.</summary>
        internal QemuStreamReaderOptions Clone() => (QemuStreamReaderOptions)MemberwiseClone();
    }

    /// <summary>
    /// A pull reader of a QEMU savevm / migration stream (docs/formats §8.1-§8.10), shaped like TarReader:
    /// <see cref="ReadNext"/> returns one record at a time as bytes arrive; page contents are skipped
    /// (seeked past) unless a memory range asks for them, so memory stays flat as streams grow.
    /// Device bodies are delimited by, in order: the stream's JSON description (found first on a
    /// seekable input), the built-in table of QEMU 7.2 devices, the section footer. When none applies
    /// the walk stops at that section and says so (<see cref="StopReason"/>).
    /// </summary>
    public sealed partial class QemuStreamReader : IRecordReader<QemuRecord>
    {
        private const int FooterProbe = 300;   // footer + a full section header, to check what follows
        private readonly StreamSource _source;
        private readonly FieldCursor _f;
        private readonly string? _path;
        private readonly Dictionary<uint, (string IdStr, uint Instance, uint Version)> _sections = new Dictionary<uint, (string, uint, uint)>();
        private readonly List<QemuRamBlock> _blocks = new List<QemuRamBlock>();
        private readonly Dictionary<string, int> _blockIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly QemuMemoryCollector? _memory;
        private readonly IQemuPageSink? _sink;
        private QemuVmDescription? _description;
        private bool? _footers;
        private bool _started;
        private bool _done;
        private int _currentBlock = -1;
        private bool _ignoreShared;
        private bool _disposed;
        private bool _cutShort;
        private Exception? _fault;
        private readonly System.Threading.CancellationToken _cancel;

        /// <summary>Opens a reader over <paramref name="stream"/>, positioned at the "QEVM" magic.</summary>
        public QemuStreamReader(Stream stream, bool leaveOpen = false, QemuStreamReaderOptions? options = null)
        {
            _source = new StreamSource(stream, leaveOpen);
            _f = new FieldCursor(_source, "QEMU stream", bigEndian: true, options?.BaseOffset ?? 0);
            _path = options?.SourcePath;
            if (options?.Memory is QemuMemoryRequest request)
            {
                _memory = new QemuMemoryCollector(request);
            }

            _sink = options?.PageSink;
            _cancel = options?.CancellationToken ?? default;
            if (options?.DescriptionJson is string json)
            {
                _description = TryParseDescription(json, -1);
            }
        }

        /// <summary>The stream version (3).</summary>
        public uint Version { get; private set; }

        /// <summary>The configuration record, when the stream has one.</summary>
        public QemuConfigurationRecord? Configuration { get; private set; }

        /// <summary>True when the stream carries a JSON VM description (known at once for a seekable input, at the end for a pipe).</summary>
        public bool HasDescription => _description is not null;

        /// <summary>The JSON VM description text, when there is one.</summary>
        public string? DescriptionJson => _description?.Json;

        /// <summary>
        /// Why the stream's JSON description was not used, when it is damaged: QEMU ignores the
        /// description when loading, so the sections are read with the built-in layouts instead.
        /// </summary>
        public string? DescriptionProblem { get; private set; }

        /// <summary>True when sections carry footers; null until the first section has been read.</summary>
        public bool? HasFooters => _footers;

        /// <summary>The RAM blocks of the MEM_SIZE list, with page counts so far.</summary>
        public IReadOnlyList<QemuRamBlock> RamBlocks => _blocks;

        /// <summary>True once the EOF record (and any description after it) has been read.</summary>
        public bool IsComplete { get; private set; }

        /// <summary>Why the walk stopped before the end of the stream; null when it did not.</summary>
        public string? StopReason { get; private set; }

        /// <summary>Offset (in the input) where the walk stopped; null when it did not.</summary>
        public long? StoppedAt { get; private set; }

        /// <summary>Bytes after the end of the stream (EOF record and description); null until known or when the length is unknown.</summary>
        public long? TrailingBytes { get; private set; }

        private long Here => _f.Here;

        /// <summary>Bytes of the stream read so far (for progress).</summary>
        public long Position => _source.Position;

        /// <summary>Length of the stream, when known.</summary>
        public long? Length => _source.Length < 0 ? null : _source.Length;

        /// <summary>The next record, or null at the end of the stream (or where the walk stopped).</summary>
        /// <exception cref="XenFormatException">The stream is malformed or truncated; the message says where.</exception>
        public QemuRecord? ReadNext()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(QemuStreamReader));
            }

            if (_fault is not null)
            {
                throw _fault;
            }

            try
            {
                return ReadNextCore();
            }
            catch (OverflowException ex)
            {
                // Lengths are checked where they are read; this is the net under those checks, so a
                // value no check foresaw is a per-file format error with its offset, never a crash.
                _fault = new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "A value near offset 0x{0:X} ({0}) of the QEMU stream is out of range ({1}).", Here, ex.Message), Here, innerException: ex);
                throw _fault;
            }
            catch (Exception ex) when (ex is XenFormatException || ex is IOException)
            {
                _fault = ex;
                throw;
            }
        }

        private QemuRecord? ReadNextCore()
        {
            if (_done)
            {
                return null;
            }

            if (!_started)
            {
                ReadHeader();
                _started = true;
            }

            while (true)
            {
                long offset = Here;
                if (!_source.TryRead(1, out ReadOnlySpan<byte> typeSpan))
                {
                    throw Truncated(offset, "a record type byte (the stream has no EOF record)");
                }

                byte type = typeSpan[0];
                switch (type)
                {
                    case QemuFormat.Eof:
                        ReadTail();
                        _done = true;
                        IsComplete = true;
                        return null;
                    case QemuFormat.Configuration:
                        return ReadConfiguration(offset);
                    case QemuFormat.SectionStart:
                    case QemuFormat.SectionFull:
                        return ReadSection(offset, (QemuSectionKind)type, withHeader: true);
                    case QemuFormat.SectionPart:
                    case QemuFormat.SectionEnd:
                        return ReadSection(offset, (QemuSectionKind)type, withHeader: false);
                    case QemuFormat.Command:
                        return ReadCommand(offset);
                    default:
                        throw Invalid(offset, string.Format(CultureInfo.InvariantCulture, "0x{0:X2} is not a record type (EOF, CONFIGURATION, SECTION_START/PART/END/FULL or COMMAND)", type));
                }
            }
        }

        /// <summary>Reads to the end (or to where the walk stops) and returns the memory asked for in the options.</summary>
        /// <exception cref="InvalidOperationException">No memory range was requested.</exception>
        public QemuMemoryRange ReadMemory()
        {
            if (_memory is null)
            {
                throw new InvalidOperationException("No memory range was requested in the reader's options.");
            }

            while (ReadNext() is not null)
            {
            }

            return _memory.Result(_path);
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            _disposed = true;
            _source.Dispose();
        }

        private void ReadHeader()
        {
            long offset = Here;
            if (!_source.TryRead(8, out ReadOnlySpan<byte> head))
            {
                throw Truncated(offset, "the 8-byte QEVM header");
            }

            uint magic = BinaryPrimitives.ReadUInt32BigEndian(head);
            uint version = BinaryPrimitives.ReadUInt32BigEndian(head.Slice(4));
            if (magic != QemuFormat.Magic)
            {
                throw new XenFormatException(XenErrorIds.UnrecognizedFormat, string.Format(CultureInfo.InvariantCulture, "Not a QEMU migration stream: the magic at offset 0x{0:X} is {1}, not \"QEVM\".", offset, HexText.Of(head.Slice(0, 4))), offset);
            }

            if (version == QemuFormat.VersionCompat)
            {
                throw new XenFormatException(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "QEMU savevm stream version 2 at offset 0x{0:X}: the pre-2009 format, which QEMU itself refuses (\"SaveVM v2 format is obsolete\").", offset), offset);
            }

            if (version != QemuFormat.Version)
            {
                throw new XenFormatException(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "Unsupported QEMU savevm stream version {0} at offset 0x{1:X} (only version 3 exists).", version, offset), offset);
            }

            Version = version;
        }

        private QemuConfigurationRecord ReadConfiguration(long offset)
        {
            uint nameLength = U32("the machine type length");
            if (nameLength > 256)
            {
                throw Invalid(offset, string.Format(CultureInfo.InvariantCulture, "the configuration's machine type is {0} bytes long (at most 256)", nameLength));
            }

            string machine = Ascii(Bytes((int)nameLength, "the machine type"));
            var caps = new List<string>();
            uint? pageBits = null;
            Guid? uuid = null;
            while (_source.Peek(1) is { Length: 1 } p && p[0] == QemuFormat.Subsection)
            {
                long subOffset = Here;
                _source.Skip(1);
                string name = ShortName("a configuration subsection name");
                U32("the subsection version");
                switch (name)
                {
                    case "configuration/target-page-bits":
                        pageBits = U32("the target page bits");
                        break;
                    case "configuration/capabilities":
                        uint count = U32("the capability count");
                        if (count > 256)
                        {
                            throw Invalid(subOffset, string.Format(CultureInfo.InvariantCulture, "{0} capabilities (at most 256)", count));
                        }

                        for (uint i = 0; i < count; i++)
                        {
                            caps.Add(ShortName("a capability name"));
                        }

                        break;
                    case "configuration/uuid":
                        uuid = new Guid(BigEndianGuid(Bytes(16, "the VM UUID")));
                        break;
                    default:
                        throw Invalid(subOffset, "unknown configuration subsection '" + name + "'");
                }
            }

            _ignoreShared = caps.Contains("x-ignore-shared");
            if (caps.Contains("mapped-ram"))
            {
                throw new XenFormatException(XenErrorIds.UnsupportedFormat, string.Format(CultureInfo.InvariantCulture, "The stream uses the mapped-ram capability (configuration at offset 0x{0:X}): its pages live at fixed file offsets, which this reader does not read.", offset), offset);
            }

            Configuration = new QemuConfigurationRecord(_path, offset, Here - offset, machine, caps, pageBits, uuid);
            return Configuration;
        }

        private QemuCommandRecord ReadCommand(long offset)
        {
            ushort command = U16("the command number");
            ushort length = U16("the command data length");
            if (_source.Skip(length) != length)
            {
                throw Truncated(offset, "the command's data");
            }

            return new QemuCommandRecord(_path, offset, Here - offset, command, length);
        }

        private QemuSection ReadSection(long offset, QemuSectionKind kind, bool withHeader)
        {
            uint id = U32("the section id");
            string idstr;
            uint instance, version;
            if (withHeader)
            {
                idstr = ShortName("the section idstr");
                instance = U32("the instance id");
                version = U32("the version id");
                if (_sections.Count >= 65536 && !_sections.ContainsKey(id))
                {
                    throw Invalid(offset, "more than 65536 sections");
                }

                _sections[id] = (idstr, instance, version);
            }
            else if (_sections.TryGetValue(id, out var known))
            {
                (idstr, instance, version) = known;
            }
            else
            {
                throw Invalid(offset, string.Format(CultureInfo.InvariantCulture, "{0} for section id {1}, which no SECTION_START opened", kind == QemuSectionKind.Part ? "SECTION_PART" : "SECTION_END", id));
            }

            long bodyOffset = Here;
            if (idstr == "ram" && kind != QemuSectionKind.Full)
            {
                if (version != 4)
                {
                    return Stop(offset, kind, id, idstr, instance, version, bodyOffset, string.Format(CultureInfo.InvariantCulture, "RAM section version {0} (only version 4, named blocks, is read)", version));
                }

                QemuRamChunk chunk = ReadRam(offset);
                long bodyLength = Here - bodyOffset;
                bool footer = ReadFooter(id, offset);
                return new QemuSection(_path, offset, Here - offset, kind, id, idstr, instance, version, bodyOffset, bodyLength, footer, QemuDecodeSource.Ram, null, chunk, null);
            }

            return ReadDevice(offset, kind, id, idstr, instance, version, bodyOffset);
        }

        private QemuSection ReadDevice(long offset, QemuSectionKind kind, uint id, string idstr, uint instance, uint version, long bodyOffset)
        {
            // 1. The stream's own description gives the exact size.
            if (kind == QemuSectionKind.Full && _description?.Find(idstr, instance) is VmsdDescription desc)
            {
                long size = StaticSize(desc, 0);
                if (size > Limits.MaxQemuSectionBody)
                {
                    throw Invalid(offset, string.Format(CultureInfo.InvariantCulture, "the description of '{0}' gives a body of {1} bytes (at most {2} are decoded)", idstr, size, Limits.MaxQemuSectionBody));
                }

                byte[] body = _source.ReadArray((int)size) ?? throw Truncated(bodyOffset, string.Format(CultureInfo.InvariantCulture, "the {0} bytes of section '{1}'", size, idstr));
                QemuVmState state;
                try
                {
                    state = VmStateDecoder.Decode(body, bodyOffset, desc, strictSizes: true, out int consumed, _cancel);
                    if (consumed != body.Length)
                    {
                        throw new VmStateDecoder.Failure("the fields take fewer bytes than the description's sizes", consumed);
                    }
                }
                catch (VmStateDecoder.Failure f)
                {
                    throw Invalid(bodyOffset + f.Position, "section '" + idstr + "' does not match its JSON description: " + f.Message);
                }

                bool footer = ReadFooter(id, offset);
                return new QemuSection(_path, offset, Here - offset, kind, id, idstr, instance, version, bodyOffset, body.Length, footer, QemuDecodeSource.Description, state, null, null);
            }

            // 2. The built-in table, checked against what follows the body.
            string? why = null;
            if (kind == QemuSectionKind.Full && version <= int.MaxValue)
            {
                ReadOnlySpan<byte> window = _source.Peek(StreamSource.DefaultBufferSize);
                foreach (VmsdDescription builtIn in VmsdBuiltIn.FindDeviceLayouts(idstr, (int)version))
                {
                    try
                    {
                        QemuVmState state = VmStateDecoder.Decode(window, bodyOffset, builtIn, strictSizes: false, out int consumed, _cancel);
                        if (FollowedByEnd(window, consumed, id))
                        {
                            _source.Skip(consumed);
                            bool footer = ReadFooter(id, offset);
                            return new QemuSection(_path, offset, Here - offset, kind, id, idstr, instance, version, bodyOffset, consumed, footer, QemuDecodeSource.BuiltIn, state, null, null);
                        }

                        why ??= "the built-in description of '" + idstr + "' v" + version.ToString(CultureInfo.InvariantCulture) + " does not end where the section does";
                    }
                    catch (VmStateDecoder.Failure f)
                    {
                        why ??= "the built-in description of '" + idstr + "' does not fit: " + f.Message;

                        // The layout ran out of bytes where the input itself ends: the stream is cut here.
                        _cutShort |= f.OutOfBytes && window.Length < StreamSource.DefaultBufferSize;
                    }
                }
            }

            // 2b. The x86 cpu layout from before VMState, for a 64-bit QEMU, then a 32-bit one.
            if (kind == QemuSectionKind.Full && idstr == "cpu" && version >= LegacyCpuDecoder.MinVersion && version <= LegacyCpuDecoder.MaxVersion)
            {
                ReadOnlySpan<byte> window = _source.Peek(StreamSource.DefaultBufferSize);
                foreach (int bits in new[] { 64, 32 })
                {
                    try
                    {
                        QemuVmState state = LegacyCpuDecoder.Decode(window, bodyOffset, (int)version, bits, out int consumed);
                        if (FollowedByEnd(window, consumed, id))
                        {
                            _source.Skip(consumed);
                            bool footer = ReadFooter(id, offset);
                            return new QemuSection(_path, offset, Here - offset, kind, id, idstr, instance, version, bodyOffset, consumed, footer, QemuDecodeSource.BuiltIn, state, null, null);
                        }
                    }
                    catch (VmStateDecoder.Failure)
                    {
                    }
                }

                why = "neither the 64-bit nor the 32-bit layout of cpu v" + version.ToString(CultureInfo.InvariantCulture) + " ends where the section does";
            }

            // 3. The footer: scan for 0x7E + this section's id followed by a plausible record.
            if (_footers != false)
            {
                long? length = ScanToFooter(id);
                if (length is long bodyLength)
                {
                    bool footer = ReadFooter(id, offset);
                    string note = why ?? (kind == QemuSectionKind.Full
                        ? "no description of '" + idstr + "' v" + version.ToString(CultureInfo.InvariantCulture) + " in the stream or the built-in table; delimited by its footer"
                        : "an iterative section other than RAM; delimited by its footer");
                    return new QemuSection(_path, offset, Here - offset, kind, id, idstr, instance, version, bodyOffset, bodyLength, footer, QemuDecodeSource.None, null, null, note);
                }
            }

            return Stop(offset, kind, id, idstr, instance, version, bodyOffset, (why ?? "no description of '" + idstr + "' v" + version.ToString(CultureInfo.InvariantCulture) + " in the stream or the built-in table") + (_footers == false ? ", and the stream has no section footers" : ", and no section footer was found") + ", so the end of the section is not known");
        }

        private QemuSection Stop(long offset, QemuSectionKind kind, uint id, string idstr, uint instance, uint version, long bodyOffset, string reason)
        {
            _done = true;
            StoppedAt = bodyOffset;
            StopReason = string.Format(CultureInfo.InvariantCulture, "The walk stopped at section '{0}' (offset 0x{1:X}): {2}.", idstr, offset, reason);
            long rest = _source.Length >= 0 ? _source.Remaining : -1;
            long here = Here;
            EndsInsideStoppedSection = !EndsLikeAStream() || _cutShort;
            return new QemuSection(_path, offset, rest >= 0 ? here - offset + rest : -1, kind, id, idstr, instance, version, bodyOffset, rest, false, QemuDecodeSource.None, null, null, StopReason);
        }

        /// <summary>
        /// After the walk stopped: true when the stream does not end as a whole stream does (with an
        /// EOF record, or a JSON description after it), so the stop is the stream being cut short.
        /// </summary>
        public bool EndsInsideStoppedSection { get; private set; }

        // A complete stream's last byte is its EOF record (0x00) or the end of its description ('}').
        // The rest of the stream is passed over to find it (the walk has stopped anyway).
        private bool EndsLikeAStream()
        {
            long rest = _source.Length >= 0 ? _source.Remaining : -1;
            int last = -1;
            if (rest > 0)
            {
                _source.Skip(rest - 1);
                last = _source.TryRead(1, out ReadOnlySpan<byte> b) ? b[0] : -1;
            }
            else if (rest < 0)
            {
                while (_source.Peek(1).Length > 0)
                {
                    ReadOnlySpan<byte> chunk = _source.Peek(StreamSource.DefaultBufferSize);
                    last = chunk[chunk.Length - 1];
                    _source.Skip(chunk.Length);
                }
            }

            return last == QemuFormat.Eof || last == (byte)'}';
        }

        // Whether a decode that took `consumed` bytes of `window` ends the section: a footer with this
        // id, or (without footers) the start of a plausible next record.
        private bool FollowedByEnd(ReadOnlySpan<byte> window, int consumed, uint id)
        {
            if (consumed + 5 <= window.Length && window[consumed] == QemuFormat.SectionFooter)
            {
                return BinaryPrimitives.ReadUInt32BigEndian(window.Slice(consumed + 1)) == id;
            }

            if (_footers == true)
            {
                return false;
            }

            return consumed < window.Length && PlausibleRecord(window.Slice(consumed), _source.Length >= 0 && consumed == _source.Remaining);
        }

        private bool PlausibleRecord(ReadOnlySpan<byte> s, bool atEnd)
        {
            if (s.Length == 0)
            {
                return atEnd;
            }

            switch (s[0])
            {
                case QemuFormat.Eof:
                    return s.Length == 1 || s[1] == QemuFormat.VmDescription;
                case QemuFormat.SectionStart:
                case QemuFormat.SectionFull:
                    if (s.Length < 6 || s[5] == 0 || s.Length < 6 + s[5] + 8)
                    {
                        return false;
                    }

                    return QemuFormat.IsPrintableName(s.Slice(6, s[5]));
                case QemuFormat.SectionPart:
                case QemuFormat.SectionEnd:
                    return s.Length >= 5 && _sections.ContainsKey(BinaryPrimitives.ReadUInt32BigEndian(s.Slice(1)));
                case QemuFormat.Command:
                    return s.Length >= 3 && BinaryPrimitives.ReadUInt16BigEndian(s.Slice(1)) <= 11;
                default:
                    return false;
            }
        }

        // Consumes the body up to (not including) its footer; returns its length, or null (nothing
        // consumed) when no footer is found within the body cap. Bodies up to the buffer size are
        // found in place; longer ones are scanned in steps, skipping what is behind.
        private long? ScanToFooter(uint id)
        {
            long scanned = 0;
            while (scanned <= Limits.MaxQemuSectionBody)
            {
                _cancel.ThrowIfCancellationRequested();
                ReadOnlySpan<byte> window = _source.Peek(StreamSource.DefaultBufferSize);
                // A window shorter than asked for is the end of the input, seekable or not.
                bool atEnd = window.Length < StreamSource.DefaultBufferSize || (_source.Length >= 0 && window.Length == _source.Remaining);
                for (int i = 0; i + 5 <= window.Length; i++)
                {
                    if (window[i] != QemuFormat.SectionFooter || BinaryPrimitives.ReadUInt32BigEndian(window.Slice(i + 1)) != id)
                    {
                        continue;
                    }

                    ReadOnlySpan<byte> next = window.Slice(i + 5);
                    if (next.Length < FooterProbe && !atEnd && window.Length == StreamSource.DefaultBufferSize)
                    {
                        break; // not enough bytes to judge the next record here: step and look again
                    }

                    if (PlausibleRecord(next, atEnd && next.Length == 0))
                    {
                        _source.Skip(i);
                        return scanned + i;
                    }
                }

                if (window.Length <= FooterProbe || atEnd)
                {
                    if (_footers == true)
                    {
                        // Every section so far had a footer, and this one's is not before the end.
                        throw Truncated(Here + window.Length, "the footer of section " + id.ToString(CultureInfo.InvariantCulture) + " (the stream ends inside it, without an EOF record)");
                    }

                    return null;
                }

                int step = window.Length - FooterProbe;
                _source.Skip(step);
                scanned += step;
            }

            return null;
        }

        private bool ReadFooter(uint id, long sectionOffset)
        {
            ReadOnlySpan<byte> next = _source.Peek(5);
            if (next.Length >= 1 && next[0] == QemuFormat.SectionFooter)
            {
                long at = Here;
                if (next.Length < 5)
                {
                    throw Truncated(at, "a section footer");
                }

                uint footerId = BinaryPrimitives.ReadUInt32BigEndian(next.Slice(1));
                if (footerId != id)
                {
                    throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "the footer of section {0} (offset 0x{1:X}) carries section id {2}", id, sectionOffset, footerId));
                }

                _source.Skip(5);
                _footers = true;
                return true;
            }

            if (_footers == true)
            {
                throw Invalid(Here, string.Format(CultureInfo.InvariantCulture, "section {0} (offset 0x{1:X}) has no footer where the stream's other sections have one", id, sectionOffset));
            }

            _footers = false;
            return false;
        }

        private void ReadTail()
        {
            long at = Here;
            ReadOnlySpan<byte> next = _source.Peek(5);
            if (next.Length >= 5 && next[0] == QemuFormat.VmDescription)
            {
                uint length = BinaryPrimitives.ReadUInt32BigEndian(next.Slice(1));
                if (length > Limits.MaxQemuDescription)
                {
                    throw Invalid(at, string.Format(CultureInfo.InvariantCulture, "a VM description of {0} bytes (at most {1} are read)", length, Limits.MaxQemuDescription));
                }

                if (_source.RemainingAtLeast(5L + length) >= 0 && length > _source.Remaining - 5)
                {
                    throw Truncated(at, string.Format(CultureInfo.InvariantCulture, "the VM description: it declares {0} bytes but {1} remain", length, _source.Remaining - 5));
                }

                _source.Skip(5);
                byte[] json = _source.ReadArray((int)length) ?? throw Truncated(at, "the VM description");
                _description ??= TryParseDescription(Encoding.UTF8.GetString(json), at);
            }

            if (_source.Length >= 0)
            {
                TrailingBytes = _source.Remaining;
            }
            else
            {
                // A pipe or a decompressor: read what follows to its end, so trailing data is
                // counted and a compressed container's trailer is checked.
                TrailingBytes = _source.Skip(long.MaxValue);
            }
        }

        // A damaged description is set aside (QEMU ignores it when loading too) and said why.
        private QemuVmDescription? TryParseDescription(string json, long at)
        {
            try
            {
                return QemuVmDescription.Parse(json);
            }
            catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
            {
                DescriptionProblem = "The VM description (JSON)" + (at >= 0 ? string.Format(CultureInfo.InvariantCulture, " at offset 0x{0:X}", at) : string.Empty) + " is damaged, so the sections are read with the built-in layouts: " + e.Message;
                return null;
            }
        }

        // Bytes a description's fields and subsections take, from its sizes (docs/formats §8.9).
        private static long StaticSize(VmsdDescription desc, int depth)
        {
            if (depth > 64)
            {
                throw new XenFormatException(XenErrorIds.InvalidRecord, "The VM description nests structs deeper than 64.", 0);
            }

            long total = 0;
            foreach (VmsdField f in desc.Fields)
            {
                total = checked(total + ((long)f.Size * f.ArrayLength));
            }

            foreach (VmsdDescription sub in desc.Subsections)
            {
                total = checked(total + 2 + Encoding.ASCII.GetByteCount(sub.Name) + 4 + StaticSize(sub, depth + 1));
            }

            return total;
        }

        private static byte[] BigEndianGuid(ReadOnlySpan<byte> b)
        {
            // QEMU stores the UUID as 16 bytes in RFC 4122 order; System.Guid's first three fields are little-endian.
            byte[] g = b.ToArray();
            Array.Reverse(g, 0, 4);
            Array.Reverse(g, 4, 2);
            Array.Reverse(g, 6, 2);
            return g;
        }

        private string ShortName(string what)
        {
            long at = Here;
            byte length = Bytes(1, what)[0];
            ReadOnlySpan<byte> name = Bytes(length, what);
            if (!QemuFormat.IsPrintableName(name))
            {
                throw Invalid(at, what + " is not printable text (" + HexText.Of(name.Slice(0, Math.Min(name.Length, 16))) + ")");
            }

            return Ascii(name);
        }

        private static string Ascii(ReadOnlySpan<byte> bytes) => Encoding.ASCII.GetString(bytes.ToArray());

        private ReadOnlySpan<byte> Bytes(int count, string what) => _f.Bytes(count, what);

        private ushort U16(string what) => _f.U16(what);

        private uint U32(string what) => _f.U32(what);

        private ulong U64(string what) => _f.U64(what);

        private XenTruncatedException Truncated(long offset, string what) => _f.Truncated(offset, what);

        private XenFormatException Invalid(long offset, string what) => _f.Invalid(XenErrorIds.InvalidRecord, offset, what);
    }
}
