using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using XenMigration.DeviceModel;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Xl;

namespace XenMigration.Legacy
{
    /// <summary>The stream a conversion writes.</summary>
    public enum LegacyOutputFormat
    {
        /// <summary>A bare libxc v3 stream.</summary>
        Libxc,
        /// <summary>A libxl v2 stream (LEGACY option) wrapping the libxc v3 stream.</summary>
        Libxl,
    }

    /// <summary>Options of <see cref="LegacyStreamConverter"/>.</summary>
    internal sealed class LegacyConversionOptions
    {
        /// <summary>
        /// PV or HVM: the legacy format does not record it. <see cref="XenGuestType.Reserved"/> (the
        /// default) detects it from the layout of the first chunks, as for the width.
        /// </summary>
        public XenGuestType GuestType { get; set; }

        /// <summary>Bitness of the toolstack that saved the image (32 or 64); null detects it.</summary>
        public int? Width { get; set; }

        /// <summary>Output format; null picks libxl when the input has an xl header, else libxc (as libxl does).</summary>
        public LegacyOutputFormat? Format { get; set; }

        /// <summary>libxc output only: do not read or write the HVM device-model record.</summary>
        public bool SkipQemu { get; set; }

        /// <summary>Receives a line per chunk and decision (the converter's verbose log).</summary>
        public Action<string>? Log { get; set; }

        /// <summary>Called with the input bytes consumed and the input length (null when unknown).</summary>
        public Action<long, long?>? Progress { get; set; }

        /// <summary>Stops the conversion (OperationCanceledException).</summary>
        public CancellationToken CancellationToken { get; set; }
    }

    /// <summary>What a conversion found and wrote.</summary>
    internal sealed class LegacyConversionResult
    {
        /// <summary>Toolstack bitness used (32 or 64).</summary>
        public int Width { get; internal set; }
        /// <summary>True when <see cref="Width"/> was detected rather than given.</summary>
        public bool WidthDetected { get; internal set; }
        /// <summary>Why that width was chosen, when detected.</summary>
        public string? WidthExplanation { get; internal set; }
        /// <summary>The format written.</summary>
        public LegacyOutputFormat Format { get; internal set; }
        /// <summary>PV or HVM, as given or detected.</summary>
        public XenGuestType GuestType { get; internal set; }
        /// <summary>True when <see cref="GuestType"/> was detected rather than given.</summary>
        public bool GuestTypeDetected { get; internal set; }
        /// <summary>Whether the input started with an xl header.</summary>
        public bool HadXlHeader { get; internal set; }
        /// <summary>The xl config text made from a xend image's SXP config (null for other inputs).</summary>
        public string? ConvertedConfig { get; internal set; }
        /// <summary>Guest pfn count (p2m_size).</summary>
        public ulong P2mSize { get; internal set; }
        /// <summary>PAGE_DATA records written.</summary>
        public long PageBatches { get; internal set; }
        /// <summary>Guest pages copied.</summary>
        public long Pages { get; internal set; }
        /// <summary>XTAB filler entries (0xF0000000) dropped from batches.</summary>
        public long DroppedFillers { get; internal set; }
        /// <summary>Batches made only of fillers, not written (Xen's converter writes an invalid empty PAGE_DATA).</summary>
        public long DroppedEmptyBatches { get; internal set; }
        /// <summary>Online vCPUs (PV).</summary>
        public int Vcpus { get; internal set; }
        /// <summary>Bytes of QEMU state carried over (HVM), or null.</summary>
        public long? QemuStateLength { get; internal set; }
        /// <summary>Bytes read from the input.</summary>
        public long BytesRead { get; internal set; }
        /// <summary>Bytes written.</summary>
        public long BytesWritten { get; internal set; }
        /// <summary>Input bytes after the converted stream (Remus checkpoints are not converted); null when unknown.</summary>
        public long? TrailingBytes { get; internal set; }
    }

    /// <summary>
    /// Converts legacy (Xen 4.5 and older) save images to v2 streams: the mapping of Xen's
    /// convert-legacy-stream (docs/formats §4.7), byte for byte, in one streaming pass with bounded memory
    /// (one 1 MiB copy buffer). Where Xen's converter writes something Xen cannot restore, this
    /// one does the correct thing instead (see the remarks).
    /// </summary>
    /// <remarks>
    /// Differences from convert-legacy-stream: a batch made only of XTAB fillers is dropped instead of
    /// becoming a count-0 PAGE_DATA; an xl header is read on Python 3 too (Xen's -x is broken there);
    /// with libxc output the xl header is not copied (Xen copies it without STREAMv2, which xl cannot
    /// restore); streams Xen's script would crash on (no vcpu block, negative vCPU ids, p2m sizes over
    /// 32 bits, xsave size mismatch) are refused with a clear error.
    /// </remarks>
    internal static partial class LegacyStreamConverter
    {
        /// <summary>Converts <paramref name="input"/> into <paramref name="output"/>.</summary>
        /// <exception cref="XenFormatException">The input is not a convertible legacy stream; the message gives the offset.</exception>
        /// <exception cref="IOException">Reading or writing failed.</exception>
        public static LegacyConversionResult Convert(Stream input, Stream output, LegacyConversionOptions options)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            if (options.GuestType != XenGuestType.Pv && options.GuestType != XenGuestType.Hvm && options.GuestType != XenGuestType.Reserved)
            {
                throw new ArgumentException("GuestType must be Pv, Hvm, or Reserved (detect).", nameof(options));
            }

            if (options.Width is int w && w != 32 && w != 64)
            {
                throw new ArgumentException("Width must be 32 or 64.", nameof(options));
            }

            using var source = new StreamSource(input, leaveOpen: true);
            var conversion = new Conversion(new FieldCursor(source, "legacy stream", bigEndian: false), output, options);
            try
            {
                return conversion.Run();
            }
            catch (OverflowException ex)
            {
                // Every length is checked where it is read; this is the net under those checks, so that
                // a value no check foresaw is still a format error with its offset, never a crash.
                throw new XenFormatException(XenErrorIds.InvalidLegacyStream, string.Format(CultureInfo.InvariantCulture, "A value near offset {0} is out of range for a legacy image ({1}).", source.Position, ex.Message), source.Position, innerException: ex);
            }
        }

        private sealed partial class Conversion
        {
            private readonly FieldCursor _f;
            private readonly StreamSource _in;
            private readonly Stream _output;
            private readonly FramedRecordWriter _out;
            private readonly LegacyConversionOptions _options;
            private readonly LegacyConversionResult _result = new LegacyConversionResult();
            private bool _pv;
            private XenGuestType _guest;
            private readonly List<KeyValuePair<ulong, ulong>> _params = new List<KeyValuePair<ulong, ulong>>();
            private readonly List<int> _onlineVcpus = new List<int>();
            // The xenstore pairs made from physmap entries are held until the end of the image; this
            // bounds them (and so the memory a hostile toolstack chunk can take).
            private const int MaxPhysmapXenstoreBytes = Limits.MaxPhysmapXenstoreBytes;
            private readonly ByteBuilder _xenstore = new ByteBuilder();
            private readonly byte[] _scratch = new byte[1 << 20];
            private int _width;
            private bool _libxl;
            private byte _guestWidth;
            private int _basicLength;
            private bool _extended;
            private uint _xsaveLength;

            public Conversion(FieldCursor input, Stream output, LegacyConversionOptions options)
            {
                _f = input;
                _in = input.Source;
                _output = output;
                _out = new FramedRecordWriter(output, LibxcFormat.MaxRecordLength);
                _options = options;
                _guest = options.GuestType;
                _pv = _guest == XenGuestType.Pv;
            }

            public LegacyConversionResult Run()
            {
                byte[]? xlHeader = ReadToolstackHeader() ?? ReadXlHeader();
                _result.HadXlHeader = xlHeader is not null;
                _libxl = (_options.Format ?? (xlHeader is not null ? LegacyOutputFormat.Libxl : LegacyOutputFormat.Libxc)) == LegacyOutputFormat.Libxl;
                _result.Format = _libxl ? LegacyOutputFormat.Libxl : LegacyOutputFormat.Libxc;
                CheckIsLegacy();
                ChooseGuestType();
                ChooseWidth();
                if (xlHeader is not null)
                {
                    if (_libxl)
                    {
                        _out.WriteRaw(xlHeader);
                    }
                    else
                    {
                        Log("Not copying the xl header: with libxc output it would announce a legacy stream, which xl cannot restore.");
                    }
                }

                ulong p2mSize = Ulong("p2m_size");
                if (p2mSize == 0 || p2mSize > uint.MaxValue)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "p2m_size 0x{0:x} is not between 1 and 2^32", p2mSize), _in.Position - (_width / 8));
                }

                _result.P2mSize = p2mSize;
                Log(string.Format(CultureInfo.InvariantCulture, "P2M Size: 0x{0:x}", p2mSize));
                if (_libxl)
                {
                    _out.WriteRaw(LibxlFormat.EncodeHeader(LibxlFormat.OptionLegacy));
                    _out.WriteRecord(LibxlFormat.LibxcContext, ReadOnlySpan<byte>.Empty);
                }

                _out.WriteRaw(LibxcFormat.EncodeImageHeader(3));
                _out.WriteRaw(LibxcFormat.EncodeDomainHeader(_guest, 0, 1));
                if (_pv)
                {
                    ReadExtendedInfo();
                }

                _out.WriteRecord(LibxcFormat.StaticDataEnd, ReadOnlySpan<byte>.Empty);
                if (_pv)
                {
                    CopyP2mFrames(p2mSize);
                }

                ReadChunks();
                if (_pv)
                {
                    CopyPvTail();
                }
                else
                {
                    CopyHvmTail();
                }

                if (_libxl && _xenstore.Length > 0)
                {
                    byte[] body = new ByteBuilder(8 + _xenstore.Length).Bytes(LibxlFormat.EncodeEmulatorHeader(EmulatorKind.Unknown, 0)).Bytes(_xenstore.Span).ToArray();
                    _out.WriteRecord(LibxlFormat.EmulatorXenstoreData, body);
                }

                if (!_pv && (_libxl || !_options.SkipQemu))
                {
                    CopyQemu();
                }

                if (_libxl)
                {
                    _out.WriteRecord(LibxlFormat.End, ReadOnlySpan<byte>.Empty);
                }

                _output.Flush();
                _result.BytesRead = _in.Position;
                _result.BytesWritten = _out.Position;
                _result.Vcpus = _onlineVcpus.Count;
                _result.TrailingBytes = _in.CanSeek ? _in.Remaining : null;
                if (_result.TrailingBytes > 0)
                {
                    Log(string.Format(CultureInfo.InvariantCulture, "{0} bytes after the legacy stream were not converted (Remus checkpoints are not supported).", _result.TrailingBytes));
                }

                Report();
                return _result;
            }

            private byte[]? ReadXlHeader()
            {
                ReadOnlySpan<byte> head = _in.Peek(FormatDetector.ProbeLength);
                if (FormatDetector.Detect(head) != DetectedFormat.XlSaveFile)
                {
                    return null;
                }

                ReadOnlySpan<byte> fixedPart = Bytes(XlFormat.HeaderSize, "the xl header");
                XlHeaderDecoder.FixedPart h = XlHeaderDecoder.DecodeFixed(fixedPart, (id, detail) => new XenFormatException(id, "The xl header is invalid: " + detail + ".", 0));
                if (h.BigEndian)
                {
                    throw new XenFormatException(XenErrorIds.InvalidHeader, "The xl header was written by a big-endian host; xl refuses it (\"wrong byte order\").", 32);
                }

                uint mandatory = h.MandatoryFlags;
                if ((mandatory & (uint)XlMandatoryFlags.StreamV2) != 0)
                {
                    throw new XenFormatException(XenErrorIds.NotLegacyStream, "The xl header has the STREAMv2 flag: this image is already a v2 stream and needs no conversion.", 36);
                }

                uint optionalLength = h.OptionalLength;
                var header = new ByteBuilder(XlFormat.HeaderSize + (int)optionalLength);
                header.Bytes(fixedPart.Slice(0, 36));
                header.U32(_options.Format == LegacyOutputFormat.Libxc ? mandatory : mandatory | (uint)XlMandatoryFlags.StreamV2);
                header.Bytes(fixedPart.Slice(40, 8));
                byte[] optional = _f.Array((int)optionalLength, "the xl header's optional data");
                header.Bytes(optional);
                Log("Processed xl header");
                return header.ToArray();
            }

            private void CheckIsLegacy()
            {
                long at = _in.Position;
                ReadOnlySpan<byte> head = _in.Peek(FormatDetector.ProbeLength);
                DetectedFormat format = FormatDetector.Detect(head);
                switch (format)
                {
                    case DetectedFormat.Empty:
                        throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: no legacy stream follows.", at), at);
                    case DetectedFormat.Libxl:
                    case DetectedFormat.Libxc:
                        throw new XenFormatException(XenErrorIds.NotLegacyStream, string.Format(CultureInfo.InvariantCulture, "The data at offset {0} is already {1}; it needs no conversion.", at, FormatDetector.Describe(format)), at);
                    case DetectedFormat.XenstoreDump:
                    case DetectedFormat.QemuSavevm:
                    case DetectedFormat.LibvirtSave:
                    case DetectedFormat.Gzip:
                    case DetectedFormat.Xz:
                    case DetectedFormat.Zstd:
                    case DetectedFormat.Bzip2:
                        throw FormatDetector.Refuse(format, head, at, "a legacy Xen image");
                }
            }

            private void ReadExtendedInfo()
            {
                long markerAt = _in.Position;
                ulong marker = Ulong("the extended-info marker");
                ulong expected = _width == 32 ? uint.MaxValue : ulong.MaxValue;
                if (marker != expected)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "the extended-info marker is 0x{0:x}, not all ones (is this an HVM image, or was it saved by a {1}-bit toolstack?)", marker, _width == 32 ? 64 : 32), markerAt);
                }

                uint total = U32("the extended-info length");
                Log(string.Format(CultureInfo.InvariantCulture, "Extended Info: length 0x{0:x}", total));
                long soFar = 0;
                while (soFar < total)
                {
                    long blockAt = _in.Position;
                    ReadOnlySpan<byte> head = Bytes(8, "an extended-info block header");
                    string id = Encoding.ASCII.GetString(head.Slice(0, 4).ToArray());
                    uint size = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(4));
                    soFar += 8;
                    if (size > total - soFar)
                    {
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "the extended-info block '{0}' of {1} bytes overshoots the {2}-byte extended info", Printable(id), size, total), blockAt);
                    }

                    Log(string.Format(CultureInfo.InvariantCulture, "  Record type: {0}, size 0x{1:x}", Printable(id), size));
                    soFar += size;
                    switch (id)
                    {
                        case "vcpu":
                            if (size == LibxcFormat.VcpuBasicSize64)
                            {
                                _guestWidth = 8;
                            }
                            else if (size == LibxcFormat.VcpuBasicSize32)
                            {
                                _guestWidth = 4;
                            }
                            else
                            {
                                throw Invalid(string.Format(CultureInfo.InvariantCulture, "the vcpu block is {0} bytes: neither a 64-bit (0x1430) nor a 32-bit (0xaf0) guest context, so the guest width is unknown", size), blockAt);
                            }

                            _basicLength = (int)size;   // one of the two sizes above
                            Skip(size, "the vcpu block");
                            Log(_guestWidth == 8 ? "    64bit domain, 4 levels" : "    32bit domain, 3 levels");
                            _out.WriteRecord(LibxcFormat.X86PvInfo, LibxcFormat.EncodePvInfo(_guestWidth, (byte)(_guestWidth == 8 ? 4 : 3)));
                            break;
                        case "extv":
                            _extended = true;
                            Skip(size, "the extv block");
                            break;
                        case "xcnt":
                            if (size < 4)
                            {
                                throw Invalid("the xcnt block is shorter than its 4-byte xsave size", blockAt);
                            }

                            _xsaveLength = U32("the xcnt block");
                            if (_xsaveLength != 0 && _xsaveLength < 16)
                            {
                                // Each vCPU's xsave data starts with a 16-byte mask and size.
                                throw Invalid(string.Format(CultureInfo.InvariantCulture, "the xcnt block announces {0} bytes of xsave state per vCPU, less than its 16-byte header", _xsaveLength), blockAt);
                            }

                            Skip(size - 4, "the xcnt block");
                            Log(string.Format(CultureInfo.InvariantCulture, "xcnt sz 0x{0:x}", _xsaveLength));
                            break;
                        default:
                            throw Invalid(string.Format(CultureInfo.InvariantCulture, "unrecognised extended-info block '{0}'", Printable(id)), blockAt);
                    }
                }

                if (_guestWidth == 0)
                {
                    throw Invalid("the extended info has no vcpu block, so the guest width is unknown", markerAt);
                }
            }

            private void CopyP2mFrames(ulong p2mSize)
            {
                ulong perFrame = (ulong)(LibxcFormat.PageSize / _guestWidth);
                long frames = (long)(((p2mSize - 1) / perFrame) + 1);
                Log(string.Format(CultureInfo.InvariantCulture, "P2M frames: fpp {0}, p2m_frame_len {1}", perFrame, frames));
                long length = 8 + (8 * frames);
                if (length > LibxcFormat.MaxRecordLength)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "the {0} p2m frames make a record longer than 128 MiB", frames), _in.Position);
                }

                FramedRecordWriter w = _out;
                w.BeginRecord(LibxcFormat.X86PvP2mFrames, length);
                w.WriteBody(new ByteBuilder(8).U32(0).U32((uint)(p2mSize - 1)).Span);
                var chunk = new ByteBuilder(8 * 1024);
                for (long done = 0; done < frames;)
                {
                    int n = (int)Math.Min(1024, frames - done);
                    chunk.Clear();
                    ReadOnlySpan<byte> raw = Bytes(n * (_width / 8), "the p2m frame list");
                    for (int i = 0; i < n; i++)
                    {
                        chunk.U64(_width == 32 ? BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(4 * i)) : BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(8 * i)));
                    }

                    w.WriteBody(chunk.Span);
                    done += n;
                }

                w.EndRecord();
            }

            private void ReadChunks()
            {
                var seen = new HashSet<ulong>();
                var words = new List<ulong>(LegacyFormat.MaxBatch);
                while (true)
                {
                    _options.CancellationToken.ThrowIfCancellationRequested();
                    Report();
                    long at = _in.Position;
                    int id = I32("a chunk id");
                    if (id > 0)
                    {
                        CopyBatch(id, at, words, seen);
                        continue;
                    }

                    Log(string.Format(CultureInfo.InvariantCulture, "Chunk: {0} - {1}", id, LegacyFormat.NameOf(id)));
                    if (id == (int)LegacyChunk.End)
                    {
                        if (_params.Count > 0)
                        {
                            WriteParams(_params, at);
                        }

                        return;
                    }

                    ReadMetadataChunk((LegacyChunk)id, at);
                }
            }

            private void CopyBatch(int count, long at, List<ulong> words, HashSet<ulong> seen)
            {
                if (count > LegacyFormat.MaxBatch)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "a page batch of {0} pages exceeds MAX_BATCH ({1})", count, LegacyFormat.MaxBatch), at);
                }

                words.Clear();
                seen.Clear();
                int w = _width / 8;
                ReadOnlySpan<byte> raw = Bytes(count * w, "the pfns of a page batch");
                int dataPages = 0;
                for (int i = 0; i < count; i++)
                {
                    ulong word = w == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(4 * i)) : BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(8 * i));
                    if (word == LegacyFormat.XtabFiller)
                    {
                        _result.DroppedFillers++;
                        continue;
                    }

                    if (!seen.Add(word))
                    {
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "pfn word 0x{0:x} appears twice in the page batch", word), at + 4 + (i * w));
                    }

                    words.Add(word);
                    if (LegacyFormat.HasData(word))
                    {
                        dataPages++;
                    }
                }

                int bytes = dataPages * LibxcFormat.PageSize;
                if (words.Count == 0)
                {
                    // Xen's converter writes a PAGE_DATA with count 0 here, which Xen refuses to restore.
                    _result.DroppedEmptyBatches++;
                    Log(string.Format(CultureInfo.InvariantCulture, "Dropping a batch of {0} XTAB fillers at offset {1} (Xen's converter would write an invalid empty PAGE_DATA).", count, at));
                    return;
                }

                FramedRecordWriter o = _out;
                for (int i = 0; i < words.Count; i++)
                {
                    words[i] = LegacyFormat.ToV2Word(words[i]);
                }

                byte[] head = LibxcFormat.EncodePageDataHeader(words);
                o.BeginRecord(LibxcFormat.PageData, (long)head.Length + bytes);
                o.WriteBody(head);
                if (o.CopyBody(_in, bytes, _scratch) != bytes)
                {
                    throw Truncated("the pages of a page batch");
                }

                o.EndRecord();
                _result.PageBatches++;
                _result.Pages += dataPages;
            }

            private void ReadMetadataChunk(LegacyChunk chunk, long at)
            {
                if (LegacyFormat.ParamChunks.TryGetValue(chunk, out ulong index))
                {
                    U32("the chunk's padding");
                    ulong value = U64("the chunk's value");
                    Log(string.Format(CultureInfo.InvariantCulture, "  {0}: 0x{1:x}", HvmParamNames.NameOf(index), value));
                    _params.Add(new KeyValuePair<ulong, ulong>(index, value));
                    return;
                }

                switch (chunk)
                {
                    case LegacyChunk.EnableVerifyMode:
                        Log("This is a debug stream");
                        return;
                    case LegacyChunk.LastCheckpoint:
                        Log("  Last Checkpoint");
                        return;
                    case LegacyChunk.VcpuInfo:
                    {
                        int max = I32("the max vcpu id");
                        if (max < 0 || max > LegacyFormat.MaxVcpuId)
                        {
                            throw Invalid(string.Format(CultureInfo.InvariantCulture, "VCPU_INFO max vcpu id {0} is out of range 0..{1}", max, LegacyFormat.MaxVcpuId), at);
                        }

                        int words = (max / 64) + 1;
                        ReadOnlySpan<byte> bitmap = Bytes(words * 8, "the online vcpu bitmap");
                        for (int i = 0; i < words; i++)
                        {
                            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(bitmap.Slice(8 * i));
                            for (int bit = 0; bit < 64; bit++)
                            {
                                if ((word & (1UL << bit)) != 0)
                                {
                                    _onlineVcpus.Add((i * 64) + bit);
                                }
                            }
                        }

                        Log(string.Format(CultureInfo.InvariantCulture, "  Vcpu info: max_id {0}, online map [{1}]", max, string.Join(", ", _onlineVcpus)));
                        return;
                    }

                    case LegacyChunk.TscInfo:
                    {
                        var r = new SpanReader(Bytes(20, "the TSC chunk"));
                        uint mode = r.U32();
                        ulong nsec = r.U64();
                        uint khz = r.U32();
                        uint incarnation = r.U32();
                        Log(string.Format(CultureInfo.InvariantCulture, "  TSC_INFO: mode {0}, {1} ns, {2} khz, {3} incarn", mode, nsec, khz, incarnation));
                        _out.WriteRecord(LibxcFormat.X86TscInfo, LibxcFormat.EncodeTscInfo((TscMode)mode, khz, nsec, incarnation));
                        return;
                    }

                    case LegacyChunk.Toolstack:
                    {
                        uint size = U32("the toolstack data size");
                        if (size == 0)
                        {
                            return;
                        }

                        if (size > XlFormat.MaxOptionalDataLength)
                        {
                            throw Invalid(string.Format(CultureInfo.InvariantCulture, "{0} bytes of toolstack data exceed the 16 MiB limit", size), at);
                        }

                        Log(string.Format(CultureInfo.InvariantCulture, "  Toolstack Data: sz 0x{0:x}", size));
                        if (_libxl)
                        {
                            byte[] data = _f.Array((int)size, "the toolstack data");
                            ReadPhysmap(data, at + 8);
                        }
                        else
                        {
                            Skip(size, "the toolstack data");
                            Log("    Discarding");
                        }

                        return;
                    }

                    case LegacyChunk.Tmem:
                    case LegacyChunk.TmemExtra:
                        throw Unsupported(string.Format(CultureInfo.InvariantCulture, "the image holds tmem (transcendent memory) pages ({0} chunk), which have no v2 equivalent", chunk), at);
                    case LegacyChunk.CompressedData:
                    case LegacyChunk.EnableCompression:
                        throw Unsupported(string.Format(CultureInfo.InvariantCulture, "the image uses Remus page compression ({0} chunk), which cannot be converted", chunk), at);
                    default:
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "unrecognised chunk id {0}", (int)chunk), at);
                }
            }

            // libxl's legacy "toolstack" record: physmap entries become xenstore key/value pairs.
            private void ReadPhysmap(byte[] data, long at)
            {
                if (data.Length < 8)
                {
                    throw Invalid("the libxl toolstack data is shorter than its 8-byte header", at);
                }

                uint version = BinaryPrimitives.ReadUInt32LittleEndian(data);
                uint count = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
                if (version != 1)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "libxl toolstack data version {0} is not 1", version), at);
                }

                Log(string.Format(CultureInfo.InvariantCulture, "    Version {0}, count {1}", version, count));
                int pos = 8;
                for (uint i = 0; i < count; i++)
                {
                    if (data.Length - pos < 28)
                    {
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "physmap entry {0} is cut short", i), at + pos);
                    }

                    var r = new SpanReader(data.AsSpan(pos, 28));
                    ulong phys = r.U64();
                    ulong start = r.U64();
                    ulong size = r.U64();
                    uint nameLength = r.U32();
                    pos += 28;
                    if (nameLength == 0)
                    {
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "physmap entry {0} has no name", i), at + pos - 4);
                    }

                    // 64-bit toolstacks leaked the struct's 4 bytes of tail padding after the name.
                    long stored = nameLength + (_width == 64 ? 4L : 0L);
                    if (data.Length - pos < stored)
                    {
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "physmap entry {0}'s name is cut short", i), at + pos);
                    }

                    ReadOnlySpan<byte> name = data.AsSpan(pos, (int)nameLength);
                    pos += (int)stored;
                    if (name[name.Length - 1] != 0)
                    {
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "physmap entry {0}'s name is not NUL-terminated", i), at + pos);
                    }

                    if (_xenstore.Length > MaxPhysmapXenstoreBytes)
                    {
                        // libxl writes one physmap entry per emulated ROM/VRAM region: a handful.
                        throw Invalid(string.Format(CultureInfo.InvariantCulture, "the toolstack data's physmap entries add up to more than {0} bytes of xenstore data ({1} entries so far); libxl writes a few", MaxPhysmapXenstoreBytes, i), at + pos);
                    }

                    string root = "physmap/" + phys.ToString("x", CultureInfo.InvariantCulture);
                    _xenstore.Text(root + "/start_addr", true).Text(start.ToString("x", CultureInfo.InvariantCulture), true);
                    _xenstore.Text(root + "/size", true).Text(size.ToString("x", CultureInfo.InvariantCulture), true);
                    _xenstore.Text(root + "/name", true).Bytes(name);
                    Log(string.Format(CultureInfo.InvariantCulture, "    '{0}/start_addr' = '{1:x}', '{0}/size' = '{2:x}', '{0}/name' = '{3}'", root, start, size, Encoding.UTF8.GetString(name.Slice(0, name.Length - 1).ToArray())));
                }
            }

            private void CopyPvTail()
            {
                uint unmapped = U32("the unmapped-pfn count");
                if (unmapped != 0)
                {
                    Skip((long)unmapped * (_width / 8), "the unmapped pfns");
                    Log(string.Format(CultureInfo.InvariantCulture, "discarding {0} bogus 'unmapped pfns'", unmapped));
                }

                foreach (int vcpu in _onlineVcpus)
                {
                    CopyVcpuRecord(LibxcFormat.X86PvVcpuBasic, vcpu, _basicLength, "basic");
                    if (_extended)
                    {
                        CopyVcpuRecord(LibxcFormat.X86PvVcpuExtended, vcpu, LegacyFormat.ExtendedContextSize, "extd");
                    }

                    if (_xsaveLength != 0)
                    {
                        long at = _in.Position;
                        ulong mask = U64("the xsave feature mask");
                        ulong size = U64("the xsave size");
                        if (size != _xsaveLength - 16UL)
                        {
                            throw Invalid(string.Format(CultureInfo.InvariantCulture, "vCPU {0}'s xsave size is {1}, but the xcnt block announced {2} (+16)", vcpu, size, _xsaveLength - 16), at);
                        }

                        Log(string.Format(CultureInfo.InvariantCulture, "Got VCPU xsave (mask 0x{0:x}, size 0x{1:x})", mask, size));
                        CopyVcpuRecord(LibxcFormat.X86PvVcpuXsave, vcpu, (long)size, null);
                    }
                }

                CopyRecord(LibxcFormat.SharedInfo, ReadOnlySpan<byte>.Empty, LibxcFormat.PageSize, "the shared info page");
                Log("Got shinfo");
                _out.WriteRecord(LibxcFormat.End, ReadOnlySpan<byte>.Empty);
            }

            private void CopyVcpuRecord(uint type, int vcpu, long length, string? what)
            {
                if (what is not null)
                {
                    Log(string.Format(CultureInfo.InvariantCulture, "Got VCPU {0} (size 0x{1:x})", what, length));
                }

                CopyRecord(type, new ByteBuilder(8).U32((uint)vcpu).U32(0).Span, length, "a vCPU context");
            }

            private void CopyHvmTail()
            {
                var r = new SpanReader(Bytes(24, "the HVM tail's magic pfns"));
                ulong ioreq = r.U64();
                ulong bufioreq = r.U64();
                ulong store = r.U64();
                Log(string.Format(CultureInfo.InvariantCulture, "Magic pfns: 0x{0:x} 0x{1:x} 0x{2:x}", ioreq, bufioreq, store));
                WriteParams(
                    new[]
                    {
                        new KeyValuePair<ulong, ulong>(HvmParamNames.IoreqPfn, ioreq),
                        new KeyValuePair<ulong, ulong>(HvmParamNames.BufioreqPfn, bufioreq),
                        new KeyValuePair<ulong, ulong>(HvmParamNames.StorePfn, store),
                    },
                    _in.Position);
                uint length = U32("the HVM context length");
                Log(string.Format(CultureInfo.InvariantCulture, "Got HVM Context (0x{0:x} bytes)", length));
                CopyRecord(LibxcFormat.HvmContext, ReadOnlySpan<byte>.Empty, length, "the HVM context");
                _out.WriteRecord(LibxcFormat.End, ReadOnlySpan<byte>.Empty);
            }

            private void CopyQemu()
            {
                long at = _in.Position;
                string signature = DeviceModelFormat.SignatureOf(Bytes(DeviceModelFormat.SignatureLength, "the device-model record signature"));
                Log("Qemu signature: " + Printable(signature));
                if (signature == QemuTraditionalSignature && _wrapper != DetectedFormat.Unknown)
                {
                    CopyQemuTraditional(at);
                    return;
                }

                if (signature != DeviceModelFormat.Signature0002)
                {
                    string what = signature switch
                    {
                        "QemuDeviceModelRecord" => "a QemuDeviceModelRecord (QEMU state running to the end of the file, from old qemu-traditional)",
                        "RemusDeviceModelState" => "a RemusDeviceModelState record (Remus)",
                        _ => "an unknown device-model record '" + Printable(signature) + "'",
                    };
                    throw Unsupported("the device-model state is " + what + "; only DeviceModelRecord0002 can be converted", at);
                }

                uint size = U32("the device-model state length");
                _result.QemuStateLength = size;
                if (_libxl)
                {
                    CopyRecord(LibxlFormat.EmulatorContext, LibxlFormat.EncodeEmulatorHeader(EmulatorKind.Unknown, 0), size, "the device-model state");
                    return;
                }

                if (size > LibxcFormat.MaxRecordLength)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "{0} bytes of device-model state exceed the 128 MiB limit", size), at);
                }

                _out.WriteRaw(DeviceModelFormat.EncodeHeader(size));
                CopyRaw(size, "the device-model state", null);
            }

            // Writes a record whose body is `prefix` followed by `length` bytes copied from the input.
            private void CopyRecord(uint type, ReadOnlySpan<byte> prefix, long length, string what)
            {
                long total = prefix.Length + length;
                if (total > LibxcFormat.MaxRecordLength)
                {
                    throw Invalid(string.Format(CultureInfo.InvariantCulture, "{0} of {1} bytes would make a record longer than 128 MiB", what, length), _in.Position);
                }

                if (_in.RemainingAtLeast(length) >= 0 && length > _in.Remaining)
                {
                    throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0}: {1} needs {2} bytes but only {3} remain.", _in.Length, what, length, _in.Remaining), _in.Length);
                }

                FramedRecordWriter o = _out;
                o.BeginRecord(type, total);
                o.WriteBody(prefix);
                CopyRaw(length, what, o);
                o.EndRecord();
            }

            private void CopyRaw(long length, string what, FramedRecordWriter? body)
            {
                long copied = body is null ? _out.CopyRaw(_in, length, _scratch) : body.CopyBody(_in, length, _scratch);
                if (copied != length)
                {
                    throw Truncated(what);
                }
            }

            private void WriteParams(IReadOnlyList<KeyValuePair<ulong, ulong>> parameters, long at)
            {
                if (_pv)
                {
                    throw Invalid("an HVM-only param chunk appears in a PV stream (is this an HVM image?)", at);
                }

                _out.WriteRecord(LibxcFormat.HvmParams, LibxcFormat.EncodeHvmParams(parameters));
            }

            private void Report() => _options.Progress?.Invoke(_in.Position, _in.Length < 0 ? null : _in.Length);

            private void Log(string line) => _options.Log?.Invoke(line);

            private ReadOnlySpan<byte> Bytes(int count, string what) => _f.Bytes(count, what);

            private void Skip(long count, string what) => _f.Skip(count, what);

            private uint U32(string what) => _f.U32(what);

            private int I32(string what) => _f.I32(what);

            private ulong U64(string what) => _f.U64(what);

            private ulong Ulong(string what) => _f.Word(_width / 8, what);

            private XenFormatException Invalid(string detail, long at) => _f.Invalid(XenErrorIds.InvalidLegacyStream, at, detail);

            private static XenFormatException Unsupported(string detail, long at) =>
                new XenFormatException(XenErrorIds.UnsupportedLegacyChunk, string.Format(CultureInfo.InvariantCulture, "Cannot convert the legacy stream at offset 0x{0:X} ({0}): {1}.", at, detail), at);

            private XenTruncatedException Truncated(string what) => _f.Truncated(_in.Position, what);

            private static string Printable(string s)
            {
                var sb = new StringBuilder(s.Length);
                foreach (char c in s)
                {
                    sb.Append(c >= 0x20 && c < 0x7F ? c : '?');
                }

                return sb.ToString();
            }
        }
    }
}
