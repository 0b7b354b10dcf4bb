using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Qemu;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.XenStream;
using XenMigration.Xenstore;
using XenMigration.Xl;
using XenMigration.FileIO;

namespace XenMigration.Verification
{
    /// <summary>Options of <see cref="XenStreamVerifier"/>.</summary>
    public sealed class XenStreamVerifierOptions
    {
        /// <summary>Name reported in the result.</summary>
        public string? SourcePath { get; set; }

        /// <summary>Warnings count as failures.</summary>
        public bool Strict { get; set; }

        /// <summary>Called after every record with the bytes consumed and the input length (null when unknown).</summary>
        public Action<long, long?>? Progress { get; set; }

        /// <summary>Stops the verification (OperationCanceledException) when signalled.</summary>
        public CancellationToken CancellationToken { get; set; }

        /// <summary>
        /// The input is a saved file rather than a live migration stream: a CHECKPOINT then earns the
        /// Warning CheckpointInFile. <see cref="XenStreamVerifier.VerifyFile"/> sets it for seekable
        /// files (regular files), not for pipes.
        /// </summary>
        public bool SourceIsFile { get; set; }
    }

    /// <summary>
    /// Verifies Xen save images: every check of Xen's verify-stream-v2 plus the rules Xen's C
    /// restore path enforces (record order, guest-type applicability, exact lengths, width and
    /// page-table levels, vCPU state, the HVM context's structure, ...). The rules and their
    /// severities are listed in <see cref="XenIssueCodes"/>. Page contents are never read, so the
    /// cost grows with the number of records, not with the size of the file.
    /// </summary>
    /// <remarks>Thread-safe: every call has its own state, so many files can be verified in parallel.</remarks>
    public static class XenStreamVerifier
    {
        /// <summary>Verifies the image in <paramref name="stream"/> (seekable or not).</summary>
        /// <exception cref="IOException">Reading failed: the image could not be verified.</exception>
        /// <exception cref="OperationCanceledException">The cancellation token was signalled.</exception>
        public static XenStreamValidationResult Verify(Stream stream, XenStreamVerifierOptions? options = null, bool leaveOpen = false)
        {
            options ??= new XenStreamVerifierOptions();
            var session = new Session(options);
            using var reader = new XenStreamReader(stream, leaveOpen, new XenStreamReaderOptions { SourcePath = options.SourcePath });
            try
            {
                XenStreamRecord? record;
                long count = 0;
                while ((record = reader.ReadNext()) is not null)
                {
                    session.OnRecord(record, reader);

                    // Every 256 records (or a record over a megabyte): a stream of one-page records
                    // has 262,144 of them per GiB, and a callback each would cost more than its checks.
                    if ((++count & 0xFF) == 0 || record.Length > (1 << 20))
                    {
                        options.Progress?.Invoke(reader.Position, reader.Length);
                        options.CancellationToken.ThrowIfCancellationRequested();
                    }
                }

                session.OnEnd(reader);
            }
            catch (XenFormatException ex)
            {
                session.OnFault(ex);
            }

            return session.Result(reader);
        }

        /// <summary>Verifies the image file at <paramref name="path"/>.</summary>
        public static XenStreamValidationResult VerifyFile(string path, XenStreamVerifierOptions? options = null)
        {
            options ??= new XenStreamVerifierOptions();
            options.SourcePath ??= path;
            Stream stream = XenFile.OpenRead(path);
            options.SourceIsFile = stream.CanSeek;
            return Verify(stream, options);
        }

        /// <summary>The running state of one verification.</summary>
        private sealed class Session
        {
            private const int MaxListedPerCode = 20;
            // Both patterns must stay linear in the config's length (it comes from the file): no \s
            // that could run across line starts, where every '^' would rescan the rest of the text.
            private static readonly Regex s_maxVcpusJson = new Regex("\"max_vcpus\"[ \t\r\n]*:[ \t\r\n]*([0-9]+)", RegexOptions.CultureInvariant);
            private static readonly Regex s_maxVcpusText = new Regex("^[ \t]*(?:maxvcpus|vcpus)[ \t]*=[ \t]*([0-9]+)", RegexOptions.CultureInvariant | RegexOptions.Multiline);

            private readonly XenStreamVerifierOptions _options;
            private readonly List<XenStreamIssue> _issues = new List<XenStreamIssue>();
            private readonly Dictionary<string, int> _perCode = new Dictionary<string, int>(StringComparer.Ordinal);
            private readonly HashSet<uint> _vcpuBasic = new HashSet<uint>();
            private int _errors;
            private int _warnings;
            private int _information;

            private XenStreamRecord? _previous;
            private bool _xl;
            private bool _xlStreamV2;
            private bool _libxl;
            private bool _legacyReported;
            private uint _version;
            private XenGuestType? _guest;
            private int? _maxVcpus;
            private byte _pvWidth;
            private int _pvInfoCount;
            private bool _p2mSeen;
            private bool _pageDataSeen;
            private int _staticDataEnds;
            private bool _staticMissingReported;
            private bool _hvmContextSeen;
            private bool _contextThisCycle;
            private bool _paramsThisCycle;
            private bool _contextOrderReported;
            private bool _awaitingCheckpointEnd;
            private bool _checkpointed;
            private int _libxcContexts;
            private bool _checkpointInFileReported;
            private long _records;
            private long _pages;

            public Session(XenStreamVerifierOptions options) => _options = options;

            public void OnRecord(XenStreamRecord r, XenStreamReader reader)
            {
                _records++;
                CheckPreviousPadding();
                _previous = r;
                switch (r)
                {
                    case XlHeaderRecord xl:
                        OnXl(xl);
                        return;
                    case LibxlHeaderRecord libxl:
                        OnLibxlHeader(libxl);
                        return;
                    case ImageHeaderRecord image:
                        OnImageHeader(image);
                        return;
                    case DomainHeaderRecord domain:
                        OnDomainHeader(domain);
                        return;
                }

                if (r.Layer == XenLayer.Libxl)
                {
                    OnLibxlRecord(r);
                }
                else
                {
                    OnLibxcRecord(r);
                }
            }

            public void OnEnd(XenStreamReader reader)
            {
                CheckPreviousPadding();
                _previous = null;
                if (reader.HasTrailingData())
                {
                    long? trailing = reader.TrailingBytes;
                    Add(XenIssueCodes.TrailingData, reader.Position, null, null, trailing is long n
                        ? string.Format(CultureInfo.InvariantCulture, "{0} bytes follow the final END at offset {1}", n, reader.Position)
                        : string.Format(CultureInfo.InvariantCulture, "data follows the final END at offset {0}", reader.Position));
                }
            }

            public void OnFault(XenFormatException ex)
            {
                XenRecordType? type = ex.RecordName is not null && Enum.TryParse(ex.RecordName, out XenRecordType t) ? t : null;
                Add(ex.ErrorId, ex.Offset, ex.RecordIndex >= 0 ? ex.RecordIndex : null, type, ex.Message, XenIssueSeverity.Error);
            }

            public XenStreamValidationResult Result(XenStreamReader reader)
            {
                foreach (KeyValuePair<string, int> pair in _perCode)
                {
                    if (pair.Value > MaxListedPerCode)
                    {
                        XenIssueCode code = XenIssueCodes.Get(pair.Key);
                        _issues.Add(new XenStreamIssue(_options.SourcePath, code.Severity, code.Code, null, null, null, string.Format(CultureInfo.InvariantCulture, "{0} more issues with code {1} are not listed", pair.Value - MaxListedPerCode, code.Code)));
                    }
                }

                return new XenStreamValidationResult(_options.SourcePath, _options.Strict, _issues, _errors, _warnings, _information)
                {
                    Format = reader.Format,
                    LibxlVersion = reader.LibxlHeader?.Version,
                    LibxcVersion = reader.ImageHeader?.Version,
                    XenVersion = reader.DomainHeader?.XenVersion,
                    GuestType = _guest,
                    Checkpointed = _checkpointed,
                    RecordCount = _records,
                    PageCount = _pages,
                    BytesRead = reader.BytesFetched,
                    FileLength = reader.Length,
                };
            }

            private void OnXl(XlHeaderRecord xl)
            {
                _xl = true;
                _xlStreamV2 = xl.IsStreamV2;
                if (xl.ByteOrder == XlByteOrder.BigEndian)
                {
                    Add(XenIssueCodes.XlByteOrder, xl, "the xl header was written by a big-endian host; xl refuses it (\"wrong byte order\")");
                }

                if (xl.UnknownMandatoryFlags != 0)
                {
                    Add(XenIssueCodes.XlUnknownMandatoryFlags, xl.Offset + 36, xl, Fmt("mandatory flags 0x{0:x} are not supported by xl (\"need newer xl\")", xl.UnknownMandatoryFlags));
                }

                if (xl.OptionalFlags != 0)
                {
                    Add(XenIssueCodes.ReservedField, xl.Offset + 40, xl, Fmt("optional flags are 0x{0:x}; none are defined", xl.OptionalFlags));
                }

                if (xl.Config is null)
                {
                    Add(XenIssueCodes.XlConfigMissing, xl, "the xl header carries no domain configuration; xl restore needs one on its command line");
                }
                else
                {
                    if (xl.ConfigFormat == XlConfigFormat.Json && !xl.ConfigIsNulTerminated)
                    {
                        Add(XenIssueCodes.XlConfigNotTerminated, xl.Offset + 52, xl, "the JSON configuration does not end with the NUL xl writes");
                    }

                    Match m = xl.ConfigFormat == XlConfigFormat.Json ? s_maxVcpusJson.Match(xl.Config) : s_maxVcpusText.Match(xl.Config);
                    if (m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int max) && max > 0)
                    {
                        _maxVcpus = max;
                    }
                }

                if (xl.ExtraOptionalDataLength != 0)
                {
                    Add(XenIssueCodes.XlExtraOptionalData, xl, Fmt("{0} bytes of optional data follow the configuration; xl ignores them", xl.ExtraOptionalDataLength));
                }
            }

            private void OnLibxlHeader(LibxlHeaderRecord h)
            {
                _libxl = true;
                if (_xl && !_xlStreamV2)
                {
                    Add(XenIssueCodes.XlStreamMismatch, h, "the xl header has no STREAMv2 flag, so xl would treat this libxl stream as a legacy image and fail to convert it");
                }

                if (h.ReservedOptions != 0)
                {
                    Add(XenIssueCodes.ReservedField, h.Offset + 12, h, Fmt("reserved option bits 0x{0:x} are set (Xen's python verifier rejects bits 2-15)", h.ReservedOptions));
                }

                if (h.IsLegacyConverted)
                {
                    ReportLegacy(h, "the libxl header's LEGACY option says this stream was converted from a legacy image");
                }
            }

            private void OnImageHeader(ImageHeaderRecord h)
            {
                _version = h.Version;
                if (_xl && !_libxl)
                {
                    Add(XenIssueCodes.XlStreamMismatch, h, _xlStreamV2
                        ? "the xl header announces a libxl stream (STREAMv2) but a bare libxc stream follows; xl cannot restore it"
                        : "the xl header has no STREAMv2 flag, so xl would run the legacy converter on this libxc v2/v3 stream, which fails");
                }

                if (h.ReservedOptions != 0 || h.Reserved1 != 0 || h.Reserved2 != 0)
                {
                    Add(XenIssueCodes.ReservedField, h.Offset + 16, h, Fmt("reserved image-header fields are not zero (options 0x{0:x}, reserved 0x{1:x} and 0x{2:x}); Xen's python verifier rejects them", h.ReservedOptions, h.Reserved1, h.Reserved2));
                }
            }

            private void OnDomainHeader(DomainHeaderRecord h)
            {
                if (h.GuestType == XenGuestType.Pv || h.GuestType == XenGuestType.Hvm)
                {
                    _guest = h.GuestType;
                }
                else
                {
                    Add(XenIssueCodes.DomainGuestType, h, Fmt("guest type {0} is neither x86 PV (1) nor x86 HVM (2)", (uint)h.GuestType));
                }

                if (h.PageShift != 12)
                {
                    Add(XenIssueCodes.DomainPageShift, h.Offset + 4, h, Fmt("page_shift is {0}, not 12", h.PageShift));
                }

                if (h.Reserved != 0)
                {
                    Add(XenIssueCodes.ReservedField, h.Offset + 6, h, Fmt("the reserved field is 0x{0:x}", h.Reserved));
                }

                if (h.IsLegacyConverted)
                {
                    ReportLegacy(h, Fmt("Xen major version 0 in the domain header: converted from a legacy image by converter version {0}", h.XenMinor));
                }
            }

            private void OnLibxlRecord(XenStreamRecord r)
            {
                switch (r.Type)
                {
                    case XenRecordType.End:
                        MustBeEmpty(r);
                        if (_libxcContexts == 0)
                        {
                            Add(XenIssueCodes.LibxcContextMissing, r, "the libxl stream ends without a LIBXC_CONTEXT: it carries no guest memory or vCPU state, and libxl's restore fails");
                        }

                        if (_awaitingCheckpointEnd)
                        {
                            Add(XenIssueCodes.CheckpointEndMissing, r, "the libxl stream ends inside a checkpoint cycle: a libxc CHECKPOINT was not followed by CHECKPOINT_END");
                        }

                        return;
                    case XenRecordType.LibxcContext:
                        MustBeEmpty(r);
                        if (++_libxcContexts > 1)
                        {
                            Add(XenIssueCodes.LibxcContextRepeated, r, "a second LIBXC_CONTEXT: libxl restores exactly one libxc stream");
                        }

                        return;
                    case XenRecordType.CheckpointEnd:
                        MustBeEmpty(r);
                        if (!_awaitingCheckpointEnd)
                        {
                            Add(XenIssueCodes.UnexpectedCheckpointEnd, r, "CHECKPOINT_END without a preceding libxc CHECKPOINT; libxl refuses it (\"Unexpected CHECKPOINT_END\")");
                        }

                        _awaitingCheckpointEnd = false;
                        return;
                    case XenRecordType.CheckpointState:
                        Add(XenIssueCodes.BackChannelRecord, r, "CHECKPOINT_STATE only travels on the COLO back channel (secondary to primary), never in a saved image");
                        return;
                    case XenRecordType.EmulatorXenstoreData:
                        HvmOnly(r);
                        var xs = (EmulatorXenstoreDataRecord)r;
                        CheckEmulator(r, (uint)xs.EmulatorId);
                        CheckXenstoreData(xs);
                        return;
                    case XenRecordType.EmulatorContext:
                        HvmOnly(r);
                        CheckEmulator(r, (uint)((EmulatorContextRecord)r).EmulatorId);
                        if (r.PayloadLength > 0)
                        {
                            using Stream payload = r.OpenPayload();
                            QemuStreamRules.Check(payload, new RecordIssues(this, r));
                        }

                        return;
                    default:
                        Add(XenIssueCodes.UnknownLibxlRecord, r, Fmt("optional libxl record type 0x{0:x8}: libxl refuses every record type it does not know", r.TypeCode));
                        return;
                }
            }

            private void OnLibxcRecord(XenStreamRecord r)
            {
                switch (r.Type)
                {
                    case XenRecordType.End:
                        MustBeEmpty(r);
                        OnLibxcEnd(r);
                        return;
                    case XenRecordType.Checkpoint:
                        MustBeEmpty(r);
                        _checkpointed = true;
                        if (_options.SourceIsFile && !_checkpointInFileReported)
                        {
                            _checkpointInFileReported = true;
                            Add(XenIssueCodes.CheckpointInFile, r, "a checkpointed (Remus/COLO) stream in a file: a secondary restores it live, but xl restore of a plain save refuses it (\"Found checkpoint in non-checkpointed stream\")");
                        }

                        _awaitingCheckpointEnd = _libxl;
                        _contextThisCycle = false;
                        _paramsThisCycle = false;
                        return;
                    case XenRecordType.Verify:
                        MustBeEmpty(r);
                        Add(XenIssueCodes.VerifyRecord, r, "VERIFY: the pages that follow are compared with the guest's, not restored (a debugging stream)");
                        return;
                    case XenRecordType.StaticDataEnd:
                        MustBeEmpty(r);
                        if (_version < 3)
                        {
                            Add(XenIssueCodes.RecordNotInVersion, r, "STATIC_DATA_END is a version 3 record; this stream is version 2");
                        }
                        else if (++_staticDataEnds > 1)
                        {
                            Add(XenIssueCodes.StaticDataEndRepeated, r, "a second STATIC_DATA_END (Xen: \"Multiple STATIC_DATA_END records found\")");
                        }

                        return;
                    case XenRecordType.CpuidPolicy:
                    case XenRecordType.MsrPolicy:
                        OnPolicy(r);
                        return;
                    case XenRecordType.PageData:
                        OnPageData((PageDataRecord)r);
                        return;
                    case XenRecordType.PvInfo:
                        OnPvInfo((PvInfoRecord)r);
                        return;
                    case XenRecordType.PvP2mFrames:
                        OnP2mFrames((PvP2mFramesRecord)r);
                        return;
                    case XenRecordType.PvVcpuBasic:
                    case XenRecordType.PvVcpuExtended:
                    case XenRecordType.PvVcpuXsave:
                    case XenRecordType.PvVcpuMsrs:
                        OnVcpu((PvVcpuRecord)r);
                        return;
                    case XenRecordType.SharedInfo:
                        PvOnly(r);
                        if (_pvInfoCount == 0)
                        {
                            Add(XenIssueCodes.RecordOrder, r, "SHARED_INFO before X86_PV_INFO");
                        }

                        if (r.Length != LibxcFormat.PageSize)
                        {
                            Add(XenIssueCodes.RecordLength, r, Fmt("SHARED_INFO is {0} bytes, not 4096", r.Length));
                        }

                        return;
                    case XenRecordType.TscInfo:
                        var tsc = (TscInfoRecord)r;
                        if (r.Length != 24)
                        {
                            Add(XenIssueCodes.RecordLength, r, Fmt("X86_TSC_INFO is {0} bytes, not 24", r.Length));
                        }

                        if (tsc.Reserved != 0)
                        {
                            Add(XenIssueCodes.ReservedField, r.Offset + 28, r, Fmt("the reserved field is 0x{0:x}", tsc.Reserved));
                        }

                        if ((uint)tsc.Mode > 3)
                        {
                            Add(XenIssueCodes.TscModeUnknown, r.Offset + 8, r, Fmt("TSC mode {0} is not one of 0-3", (uint)tsc.Mode));
                        }

                        return;
                    case XenRecordType.HvmContext:
                        OnHvmContext(r);
                        return;
                    case XenRecordType.HvmParams:
                        OnHvmParams((HvmParamsRecord)r);
                        return;
                    case XenRecordType.Toolstack:
                        Add(XenIssueCodes.ToolstackRecord, r, "TOOLSTACK is deprecated and Xen's restore fails on it");
                        return;
                    case XenRecordType.CheckpointDirtyPfnList:
                        Add(XenIssueCodes.BackChannelRecord, r, "CHECKPOINT_DIRTY_PFN_LIST only travels on the COLO back channel (secondary to primary), never in a saved image");
                        return;
                    case XenRecordType.LegacyDeviceModel:
                        return;
                    default:
                        Add(XenIssueCodes.UnknownOptionalRecord, r, Fmt("optional libxc record type 0x{0:x8}: Xen skips it, Xen's python verifier rejects it", r.TypeCode));
                        return;
                }
            }

            private void OnLibxcEnd(XenStreamRecord end)
            {
                if (_version >= 3 && _staticDataEnds == 0 && !_staticMissingReported)
                {
                    _staticMissingReported = true;
                    Add(XenIssueCodes.StaticDataEndMissing, end, "the version 3 stream ended without STATIC_DATA_END");
                }

                if (_guest == XenGuestType.Hvm && !_hvmContextSeen)
                {
                    Add(XenIssueCodes.HvmContextMissing, end, "the HVM stream ended without HVM_CONTEXT; Xen cannot restore the vCPU and device state");
                }

                if (_guest == XenGuestType.Pv)
                {
                    if (_pvInfoCount == 0)
                    {
                        Add(XenIssueCodes.PvInfoMissing, end, "the PV stream ended without X86_PV_INFO");
                    }

                    if (!_vcpuBasic.Contains(0))
                    {
                        Add(XenIssueCodes.Vcpu0BasicMissing, end, "the PV stream ended without X86_PV_VCPU_BASIC for vCPU 0 (Xen: \"Sender didn't send vcpu0's basic state\")");
                    }
                }
            }

            private void OnPolicy(XenStreamRecord r)
            {
                string name = r.Type == XenRecordType.CpuidPolicy ? "X86_CPUID_POLICY" : "X86_MSR_POLICY";
                int entry = r.Type == XenRecordType.CpuidPolicy ? 24 : 16;
                if (_version < 3)
                {
                    Add(XenIssueCodes.RecordNotInVersion, r, name + " is a version 3 record; this stream is version 2");
                }
                else if (_staticDataEnds > 0)
                {
                    Add(XenIssueCodes.PolicyAfterStaticData, r, name + " after STATIC_DATA_END; policies belong to the static data");
                }

                if (r.Length == 0 || r.Length % entry != 0)
                {
                    Add(XenIssueCodes.RecordLength, r, Fmt("{0} is {1} bytes, not a non-zero multiple of {2}", name, r.Length, entry));
                }

                if (r is MsrPolicyRecord msr)
                {
                    for (int i = 0; i < msr.Entries.Count; i++)
                    {
                        if (msr.Entries[i].Flags != 0)
                        {
                            if (Describe(XenIssueCodes.ReservedField)) Add(XenIssueCodes.ReservedField, r.Offset + 8 + (16L * i) + 4, r, Fmt("MSR 0x{0:x} has flags 0x{1:x}; the field is reserved", msr.Entries[i].Index, msr.Entries[i].Flags));
                        }
                    }

                    Unkept(XenIssueCodes.ReservedField, r, msr.UnkeptFlagsSet, r.Offset + 8 + 4, 16, "MSR entries have reserved flags set");
                }
            }

            private void OnPageData(PageDataRecord p)
            {
                _pages += p.DataPageCount;
                RequireStaticDataEnd(p, "PAGE_DATA");
                if (_guest == XenGuestType.Pv && !_p2mSeen && !_pageDataSeen)
                {
                    Add(XenIssueCodes.RecordOrder, p, "PAGE_DATA before X86_PV_P2M_FRAMES in a PV stream");
                }

                _pageDataSeen = true;
                if (p.PfnCount == 0)
                {
                    Add(XenIssueCodes.PageDataEmpty, p, "PAGE_DATA with a pfn count of 0 (Xen: \"Expected at least 1 pfn\")");
                }

                if (p.Length != p.ExpectedLength)
                {
                    Add(XenIssueCodes.RecordLength, p, Fmt("PAGE_DATA is {0} bytes but its {1} pfns with {2} data pages need exactly {3}", p.Length, p.PfnCount, p.DataPageCount, p.ExpectedLength));
                }

                if (p.Reserved != 0)
                {
                    Add(XenIssueCodes.ReservedField, p.Offset + 12, p, Fmt("the reserved field after the count is 0x{0:x}", p.Reserved));
                }

                if (FirstOddFrame(p.FrameArray) >= 0)
                {
                    for (int i = 0; i < p.Frames.Count; i++)
                    {
                        PageFrame f = p.Frames[i];
                        long at = p.Offset + 16 + (8L * i);
                        if (!LibxcFormat.IsValidPageType((int)f.Type))
                        {
                            if (Describe(XenIssueCodes.PageTypeInvalid)) Add(XenIssueCodes.PageTypeInvalid, at, p, Fmt("pfn 0x{0:x} has reserved page type 0x{1:x}", f.Pfn, (int)f.Type));
                        }

                        if (f.ReservedBits != 0)
                        {
                            if (Describe(XenIssueCodes.ReservedField)) Add(XenIssueCodes.ReservedField, at, p, Fmt("pfn 0x{0:x} has reserved bits 52-59 set (0x{1:x}); Xen ignores them, Xen's python verifier rejects them", f.Pfn, f.ReservedBits));
                        }
                    }
                }

                // Entries beyond those the reader kept were checked as they streamed past.
                Unkept(XenIssueCodes.PageTypeInvalid, p, p.UnkeptInvalidTypes, p.Offset + 16, 8, "pfn entries have a reserved page type");
                Unkept(XenIssueCodes.ReservedField, p, p.UnkeptReservedBits, p.Offset + 16, 8, "pfn entries have reserved bits 52-59 set");
            }

            // The first entry with a reserved page type or reserved bits, or -1: the common case (none)
            // is one optimized pass, and only a batch with a break is walked again for its messages.
            [System.Runtime.CompilerServices.MethodImpl(Hot.Optimize)]
            private static int FirstOddFrame(PageFrame[] frames)
            {
                for (int i = 0; i < frames.Length; i++)
                {
                    ulong w = frames[i].Word;
                    int type = (int)(w >> LibxcFormat.PageTypeShift);
                    if ((type > 0x4 && type < 0x9) || (w & LibxcFormat.PfnReservedMask) != 0)
                    {
                        return i;
                    }
                }

                return -1;
            }

            // One issue for the rule breaks among a record's unkept entries: how many, and the first.
            private void Unkept(string code, XenStreamRecord r, EntryTally tally, long firstEntryOffset, int entrySize, string what)
            {
                if (tally.Count > 0)
                {
                    long at = firstEntryOffset + (entrySize * tally.First);
                    Add(code, at, r.Index, r.Type, Fmt("{0} more {1} (beyond the first {2} entries the reader keeps; the first at offset 0x{3:x})", tally.Count, what, XenStreamReader.MaxRetainedEntries, at), weight: tally.Count);
                }
            }

            private void OnPvInfo(PvInfoRecord r)
            {
                PvOnly(r);
                if (++_pvInfoCount > 1)
                {
                    Add(XenIssueCodes.PvInfoRepeated, r, "a second X86_PV_INFO; Xen refuses it");
                    return;
                }

                if (r.Length > 8)
                {
                    Add(XenIssueCodes.PvInfoLength, r, Fmt("X86_PV_INFO is {0} bytes; Xen's python verifier requires exactly 8", r.Length));
                }

                if (!((r.GuestWidth == 4 && r.PtLevels == 3) || (r.GuestWidth == 8 && r.PtLevels == 4)))
                {
                    Add(XenIssueCodes.PvInfoWidthLevels, r.Offset + 8, r, Fmt("guest width {0} with {1} page-table levels; Xen accepts only 4 with 3 and 8 with 4", r.GuestWidth, r.PtLevels));
                }
                else
                {
                    _pvWidth = r.GuestWidth;
                }

                if (r.Reserved != 0)
                {
                    Add(XenIssueCodes.ReservedField, r.Offset + 10, r, Fmt("the reserved bytes are 0x{0:x}", r.Reserved));
                }
            }

            private void OnP2mFrames(PvP2mFramesRecord r)
            {
                PvOnly(r);
                RequireStaticDataEnd(r, "X86_PV_P2M_FRAMES");
                if (_pvInfoCount == 0)
                {
                    Add(XenIssueCodes.RecordOrder, r, "X86_PV_P2M_FRAMES before X86_PV_INFO");
                }

                _p2mSeen = true;
                if (r.StartPfn > r.EndPfn)
                {
                    Add(XenIssueCodes.P2mFramesRange, r.Offset + 8, r, Fmt("start pfn 0x{0:x} is after end pfn 0x{1:x}", r.StartPfn, r.EndPfn));
                    return;
                }

                if (_pvWidth != 0)
                {
                    long frames = r.ExpectedFrameCount(_pvWidth);
                    long expected = 8 + (8 * frames);
                    if (r.Length != expected)
                    {
                        Add(XenIssueCodes.RecordLength, r, Fmt("X86_PV_P2M_FRAMES is {0} bytes but pfns 0x{1:x}..0x{2:x} of a {3}-bit guest need {4} frames = {5} bytes", r.Length, r.StartPfn, r.EndPfn, _pvWidth * 8, frames, expected));
                    }
                }
                else if (r.Length % 8 != 0)
                {
                    Add(XenIssueCodes.RecordLength, r, Fmt("X86_PV_P2M_FRAMES is {0} bytes, not a multiple of 8", r.Length));
                }
            }

            private void OnVcpu(PvVcpuRecord r)
            {
                PvOnly(r);
                if (!_pageDataSeen)
                {
                    Add(XenIssueCodes.RecordOrder, r, Fmt("{0} for vCPU {1} before any PAGE_DATA", r.Type, r.VcpuId));
                }

                CheckVcpuId(r, r.VcpuId, r.Offset + 8);
                if (r.Reserved != 0)
                {
                    Add(XenIssueCodes.ReservedField, r.Offset + 12, r, Fmt("the reserved field is 0x{0:x}", r.Reserved));
                }

                long n = r.ContextLength;
                switch (r.Type)
                {
                    case XenRecordType.PvVcpuBasic when n == 0 && r.VcpuId != 0:
                        // An offline vCPU: Xen's restore accepts an empty basic record for it.
                        return;
                    case XenRecordType.PvVcpuBasic:
                        _vcpuBasic.Add(r.VcpuId);
                        int want = _pvWidth == 4 ? LibxcFormat.VcpuBasicSize32 : LibxcFormat.VcpuBasicSize64;
                        if (_pvWidth == 0 ? n != LibxcFormat.VcpuBasicSize32 && n != LibxcFormat.VcpuBasicSize64 : n != want)
                        {
                            Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} basic state is {1} bytes, not {2}", r.VcpuId, n, _pvWidth == 0 ? "5168 or 2800" : want.ToString(CultureInfo.InvariantCulture) + (_pvWidth == 8 ? " (64-bit guest)" : " (32-bit guest)")));
                        }

                        return;
                    case XenRecordType.PvVcpuExtended when n == 0:
                    case XenRecordType.PvVcpuXsave when n == 0:
                    case XenRecordType.PvVcpuMsrs when n == 0:
                        Add(XenIssueCodes.EmptyRecord, r, Fmt("{0} for vCPU {1} has no content (Xen 4.6-4.8 errata; ignored)", r.Type, r.VcpuId));
                        return;
                    case XenRecordType.PvVcpuExtended when n > 128:
                        Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} extended state is {1} bytes, more than 128", r.VcpuId, n));
                        return;
                    case XenRecordType.PvVcpuXsave when n < 16:
                        Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} xsave state is {1} bytes, less than the 16 of xcr0 and xcr0_accum", r.VcpuId, n));
                        return;
                    case XenRecordType.PvVcpuMsrs when n % 16 != 0:
                        Add(XenIssueCodes.VcpuContextLength, r, Fmt("vCPU {0} MSR list is {1} bytes, not a multiple of 16", r.VcpuId, n));
                        return;
                }
            }

            private void OnHvmParams(HvmParamsRecord r)
            {
                HvmOnly(r);
                if (_contextThisCycle && !_paramsThisCycle && !_contextOrderReported)
                {
                    _contextOrderReported = true;
                    Add(XenIssueCodes.ContextBeforeParams, r, "HVM_PARAMS after HVM_CONTEXT: the spec asks for HVM_PARAMS first (Xen's own saver writes this order and restores either)");
                }

                _paramsThisCycle = true;
                if (r.Length != 8 + (16L * r.ParamCount))
                {
                    Add(XenIssueCodes.RecordLength, r, Fmt("HVM_PARAMS is {0} bytes but {1} params need exactly {2}", r.Length, r.ParamCount, 8 + (16L * r.ParamCount)));
                }

                if (r.Reserved != 0)
                {
                    Add(XenIssueCodes.ReservedField, r.Offset + 12, r, Fmt("the reserved field is 0x{0:x}; Xen's python verifier rejects it", r.Reserved));
                }

                if (r.ParamCount == 0)
                {
                    Add(XenIssueCodes.EmptyRecord, r, "HVM_PARAMS with no params (Xen 4.6-4.8 errata; ignored)");
                }

                for (int i = 0; i < r.Params.Count; i++)
                {
                    if (!HvmParamNames.IsDefined(r.Params[i].Index))
                    {
                        if (Describe(XenIssueCodes.HvmParamUnknown)) Add(XenIssueCodes.HvmParamUnknown, r.Offset + 16 + (16L * i), r, Fmt("param index {0} is not defined in public/hvm/params.h; Xen refuses to set it", r.Params[i].Index));
                    }
                }

                Unkept(XenIssueCodes.HvmParamUnknown, r, r.UnkeptUnknownIndexes, r.Offset + 16, 16, "params have an index that public/hvm/params.h does not define");
            }

            private void OnHvmContext(XenStreamRecord r)
            {
                HvmOnly(r);
                _hvmContextSeen = true;
                _contextThisCycle = true;
                if (r.Length == 0)
                {
                    Add(XenIssueCodes.RecordLength, r, "HVM_CONTEXT is empty");
                    return;
                }

                try
                {
                    using Stream payload = r.OpenPayload();
                    HvmContextRules.Check(payload, checked((int)r.PayloadLength), new RecordIssues(this, r), _maxVcpus);
                }
                catch (EndOfStreamException)
                {
                    throw new XenTruncatedException(Fmt("Unexpected end of stream while reading the HVM context of record #{0} (offset {1}, {2} bytes).", r.Index, r.PayloadOffset, r.PayloadLength), r.PayloadOffset + r.PayloadLength, r.Index, nameof(XenRecordType.HvmContext));
                }
            }

            // Issues that a format's rules find in one record, reported at blob offsets.
            private sealed class RecordIssues : IIssueSink
            {
                private readonly Session _s;
                private readonly XenStreamRecord _r;

                public RecordIssues(Session s, XenStreamRecord r)
                {
                    _s = s;
                    _r = r;
                }

                public bool Describe(string code) => _s.Describe(code);

                public void Report(string code, long blobOffset, string message) => _s.Add(code, _r.PayloadOffset + blobOffset, _r, message);
            }

            private void CheckXenstoreData(EmulatorXenstoreDataRecord xs)
            {
                if (!xs.IsNulTerminated)
                {
                    Add(XenIssueCodes.XenstoreDataNotTerminated, xs, "the last key or value is not NUL-terminated (libxl: \"Key/Val in xenstore data not NUL terminated\")");
                }

                foreach (XenstoreKeyValue kv in xs.Entries)
                {
                    string? bad = null;
                    if (kv.Key.Length == 0)
                    {
                        bad = "is empty";
                    }
                    else if (kv.Key[0] == '/')
                    {
                        bad = "starts with '/' (keys are relative to the device model's directory)";
                    }
                    else
                    {
                        foreach (char c in kv.Key)
                        {
                            if (!XenstoreFormat.IsPathChar(c))
                            {
                                bad = Fmt("contains '{0}' (U+{1:X4}); only ASCII letters, digits and -/_@ are allowed", c, (int)c);
                                break;
                            }
                        }
                    }

                    if (bad is not null)
                    {
                        if (Describe(XenIssueCodes.XenstoreKey)) Add(XenIssueCodes.XenstoreKey, xs, Fmt("key \"{0}\" {1}", kv.Key, bad));
                    }

                    foreach (char c in kv.Value)
                    {
                        if (c < 0x20 || c > 0x7E)
                        {
                            if (Describe(XenIssueCodes.XenstoreValue)) Add(XenIssueCodes.XenstoreValue, xs, Fmt("the value of \"{0}\" contains U+{1:X4}; values are printable ASCII", kv.Key, (int)c));
                            break;
                        }
                    }
                }

                Unkept(XenIssueCodes.XenstoreKey, xs, xs.UnkeptBadKeys, xs.Offset + 16, 1, "pairs have an empty key, a key starting with '/', or key characters other than ASCII letters, digits and -/_@");
                Unkept(XenIssueCodes.XenstoreValue, xs, xs.UnkeptBadValues, xs.Offset + 16, 1, "pairs have values with characters other than printable ASCII");
            }

            private void CheckEmulator(XenStreamRecord r, uint id)
            {
                if (id > 2)
                {
                    Add(XenIssueCodes.EmulatorId, r.Offset + 8, r, Fmt("emulator id {0} is not 0 (unknown), 1 (QEMU traditional) or 2 (QEMU upstream)", id));
                }
                else if (id == 1)
                {
                    Add(XenIssueCodes.EmulatorTraditional, r.Offset + 8, r, "emulator id 1 is QEMU traditional, which Xen 4.21 no longer supports");
                }
            }

            private void CheckVcpuId(XenStreamRecord r, uint vcpu, long offset)
            {
                if (_maxVcpus is int max && vcpu >= max)
                {
                    if (Describe(XenIssueCodes.VcpuId)) Add(XenIssueCodes.VcpuId, offset, r, Fmt("vCPU {0} is not below max_vcpus {1} of the domain configuration", vcpu, max));
                }
            }

            private void RequireStaticDataEnd(XenStreamRecord r, string what)
            {
                if (_version >= 3 && _staticDataEnds == 0 && !_staticMissingReported)
                {
                    _staticMissingReported = true;
                    Add(XenIssueCodes.StaticDataEndMissing, r, what + " before STATIC_DATA_END in a version 3 stream (Xen: \"No STATIC_DATA_END seen\")");
                }
            }

            private void PvOnly(XenStreamRecord r)
            {
                if (_guest == XenGuestType.Hvm)
                {
                    Add(XenIssueCodes.RecordNotForGuestType, r, Fmt("{0} is a PV record but this is an HVM stream", r.Type));
                }
            }

            private void HvmOnly(XenStreamRecord r)
            {
                if (_guest == XenGuestType.Pv)
                {
                    Add(XenIssueCodes.RecordNotForGuestType, r, Fmt("{0} is an HVM record but this is a PV stream", r.Type));
                }
            }

            private void MustBeEmpty(XenStreamRecord r)
            {
                if (r.Length != 0)
                {
                    Add(XenIssueCodes.RecordLength, r, Fmt("{0} {1} has a {2}-byte body; it must be empty", r.Layer, r.Type, r.Length));
                }
            }

            private void ReportLegacy(XenStreamRecord r, string message)
            {
                if (!_legacyReported)
                {
                    _legacyReported = true;
                    Add(XenIssueCodes.LegacyConverted, r, message);
                }
            }

            private void CheckPreviousPadding()
            {
                if (_previous is { PaddingIsZero: false } p)
                {
                    Add(XenIssueCodes.NonZeroPadding, p.Offset + 8 + p.Length, p, "padding bytes after the body are not zero (the C readers ignore them; the spec and Xen's python verifier require zeros)");
                }
            }

            private void Add(string code, XenStreamRecord r, string message) => Add(code, r.Offset, r, message);

            private void Add(string code, long offset, XenStreamRecord r, string message) => Add(code, offset, r.Index, r.Type, message);

            private void Add(string code, long? offset, long? index, XenRecordType? type, string message, XenIssueSeverity? severity = null, long weight = 1)
            {
                XenIssueSeverity s = severity ?? XenIssueCodes.Get(code).Severity;
                int n = Count(code, s, weight);
                if (n < MaxListedPerCode)
                {
                    _issues.Add(new XenStreamIssue(_options.SourcePath, s, code, offset, index, type, message));
                }
            }

            // Counts weight issues of a code; returns how many of that code there were before.
            private int Count(string code, XenIssueSeverity s, long weight)
            {
                int w = (int)Math.Min(weight, int.MaxValue);
                switch (s)
                {
                    case XenIssueSeverity.Error:
                        _errors = Saturating(_errors, w);
                        break;
                    case XenIssueSeverity.Warning:
                        _warnings = Saturating(_warnings, w);
                        break;
                    default:
                        _information = Saturating(_information, w);
                        break;
                }

                _perCode.TryGetValue(code, out int n);
                _perCode[code] = Saturating(n, w);
                return n;
            }

            private static int Saturating(int a, int b) => (int)Math.Min((long)a + b, int.MaxValue);

            /// <summary>
            /// For checks run once per entry: whether an issue of <paramref name="code"/> would still be
            /// listed, so its message is worth building. Past the listing cap the issue is counted here
            /// and no message is made (a 128 MiB record can hold 16 million entries).
            /// </summary>
            internal bool Describe(string code)
            {
                if (!_perCode.TryGetValue(code, out int n) || n < MaxListedPerCode)
                {
                    return true;
                }

                Count(code, XenIssueCodes.Get(code).Severity, 1);
                return false;
            }

            private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
        }
    }
}
