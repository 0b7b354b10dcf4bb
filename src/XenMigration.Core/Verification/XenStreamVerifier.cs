using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.Rules;
using XenMigration.XenStream;
using XenMigration.Xl;

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

        /// <summary>
        /// Walk the device model's QEMU state (EMULATOR_CONTEXT) too (the default). A converter that
        /// copied the state verbatim turns it off: it checks what it wrote, not what it only copied.
        /// </summary>
        public bool CheckEmulatorState { get; set; } = true;
    }

    /// <summary>
    /// Verifies Xen save images: every check of Xen's verify-stream-v2 plus the rules Xen's C
    /// restore path enforces. Each format's own rules live with the format (XlRules, LibxlRules,
    /// LibxcRules, HvmContextRules, QemuStreamRules); this class applies them record by record and
    /// adds what crosses records: order, guest-type applicability, versions, checkpoints, vCPU ids
    /// against the configuration. The rules and their severities are listed in
    /// <see cref="XenIssueCodes"/>. Page contents are never read, so the cost grows with the number
    /// of records, not with the size of the file.
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
            try
            {
                // A pipe is probed through a PeekStream, so a legacy image found at its start can be
                // read again from the beginning by the converter.
                Stream input = stream.CanSeek ? stream : new PeekStream(stream);
                long start = stream.CanSeek ? stream.Position : 0;
                // Legacy streams, bare or in the toolstack wrappers the converter reads (xend, classic XenServer).
                if (FormatDetector.Detect(PeekStream.Probe(input, FormatDetector.ProbeLength)) is DetectedFormat.LegacyLibxc or DetectedFormat.XendSave or DetectedFormat.XenServerLegacySuspend)
                {
                    return LegacyVerification.Verify(input, options);
                }

                try
                {
                    return VerifyV2(input, options);
                }
                catch (LegacyFound found)
                {
                    // A legacy stream after an xl header: read again from the start (files only).
                    return input.CanSeek ? LegacyVerification.Verify(Rewound(input, start), options) : found.AsV2;
                }
            }
            finally
            {
                if (!leaveOpen)
                {
                    stream.Dispose();
                }
            }
        }

        private static Stream Rewound(Stream input, long start)
        {
            input.Position = start;
            return input;
        }

        /// <summary>Signals that the input is a legacy image, for <see cref="LegacyVerification"/>.</summary>
        private sealed class LegacyFound : Exception
        {
            public LegacyFound(XenStreamValidationResult asV2) => AsV2 = asV2;

            public XenStreamValidationResult AsV2 { get; }
        }

        private static XenStreamValidationResult VerifyV2(Stream stream, XenStreamVerifierOptions options)
        {
            var session = new Session(options);
            using var reader = new XenStreamReader(stream, leaveOpen: true, new XenStreamReaderOptions { SourcePath = options.SourcePath });
            try
            {
                XenStreamRecord? record;
                long count = 0;
                while ((record = reader.ReadNext()) is not null)
                {
                    session.OnRecord(record);

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
            catch (XenUnsupportedFormatException ex) when (ex.Format == DetectedFormat.LegacyLibxc)
            {
                session.OnFault(ex);
                throw new LegacyFound(session.Result(reader));
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

        /// <summary>The running state of one verification: what crosses records.</summary>
        private sealed class Session
        {
            private readonly XenStreamVerifierOptions _options;
            private readonly IssueList _issues;
            private readonly HashSet<uint> _vcpuBasic = new HashSet<uint>();

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
            private ConfigConsistency? _consistency;
            private XenServer.XenServerRules? _xenServer;
            private long _records;
            private long _pages;

            public Session(XenStreamVerifierOptions options)
            {
                _options = options;
                _issues = new IssueList(options.SourcePath);
            }

            public void OnRecord(XenStreamRecord r)
            {
                _records++;
                _consistency?.OnRecord(r, _issues);
                if (r.Layer == XenLayer.Container)
                {
                    if (r is XenServer.XenServerSignatureRecord)
                    {
                        _xenServer = new XenServer.XenServerRules();
                    }

                    _xenServer?.Check(r, _issues);
                    _previous = null;
                    return;
                }

                RecordRules.CheckPadding(_previous, _issues);
                _previous = r;
                switch (r)
                {
                    case XlHeaderRecord xl:
                        _xl = true;
                        _xlStreamV2 = xl.IsStreamV2;
                        XlRules.Check(xl, _issues);
                        _maxVcpus = XlRules.MaxVcpus(xl);
                        if (xl.Config is string text && DomainConfig.FromXl(text, xl.ConfigFormat == XlConfigFormat.Json) is DomainConfig config)
                        {
                            _consistency = new ConfigConsistency(config);
                        }

                        return;
                    case LibxlHeaderRecord libxl:
                        OnLibxlHeader(libxl);
                        return;
                    case ImageHeaderRecord image:
                        OnImageHeader(image);
                        return;
                    case DomainHeaderRecord domain:
                        _guest = LibxcRules.CheckDomainHeader(domain, _issues);
                        if (domain.IsLegacyConverted)
                        {
                            ReportLegacy(domain, Fmt("Xen major version 0 in the domain header: converted from a legacy image by converter version {0}", domain.XenMinor));
                        }

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
                _consistency?.OnEnd(_issues);
                RecordRules.CheckPadding(_previous, _issues);
                _previous = null;
                if (reader.HasTrailingData())
                {
                    long? trailing = reader.TrailingBytes;
                    _issues.Add(XenIssueCodes.TrailingData, reader.Position, null, null, trailing is long n
                        ? Fmt("{0} bytes follow the final END at offset {1}", n, reader.Position)
                        : Fmt("data follows the final END at offset {0}", reader.Position));
                }
            }

            public void OnFault(XenFormatException ex)
            {
                XenRecordType? type = ex.RecordName is not null && Enum.TryParse(ex.RecordName, out XenRecordType t) ? t : null;
                _issues.Add(ex.ErrorId, ex.Offset, ex.RecordIndex >= 0 ? ex.RecordIndex : null, type, ex.Message, XenIssueSeverity.Error);
            }

            public XenStreamValidationResult Result(XenStreamReader reader)
            {
                IReadOnlyList<XenStreamIssue> issues = _issues.Finish();
                return new XenStreamValidationResult(_options.SourcePath, _options.Strict, issues, _issues.Errors, _issues.Warnings, _issues.Information)
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

            private void OnLibxlHeader(LibxlHeaderRecord h)
            {
                _libxl = true;
                if (_xl && !_xlStreamV2)
                {
                    _issues.Add(XenIssueCodes.XlStreamMismatch, h, "the xl header has no STREAMv2 flag, so xl would treat this libxl stream as a legacy image and fail to convert it");
                }

                LibxlRules.CheckHeader(h, _issues);
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
                    _issues.Add(XenIssueCodes.XlStreamMismatch, h, _xlStreamV2
                        ? "the xl header announces a libxl stream (STREAMv2) but a bare libxc stream follows; xl cannot restore it"
                        : "the xl header has no STREAMv2 flag, so xl would run the legacy converter on this libxc v2/v3 stream, which fails");
                }

                LibxcRules.CheckImageHeader(h, _issues);
            }

            private void OnLibxlRecord(XenStreamRecord r)
            {
                switch (r.Type)
                {
                    case XenRecordType.End:
                        RecordRules.MustBeEmpty(r, _issues);
                        if (_libxcContexts == 0)
                        {
                            _issues.Add(XenIssueCodes.LibxcContextMissing, r, "the libxl stream ends without a LIBXC_CONTEXT: it carries no guest memory or vCPU state, and libxl's restore fails");
                        }

                        if (_awaitingCheckpointEnd)
                        {
                            _issues.Add(XenIssueCodes.CheckpointEndMissing, r, "the libxl stream ends inside a checkpoint cycle: a libxc CHECKPOINT was not followed by CHECKPOINT_END");
                        }

                        return;
                    case XenRecordType.LibxcContext:
                        RecordRules.MustBeEmpty(r, _issues);
                        if (++_libxcContexts > 1)
                        {
                            _issues.Add(XenIssueCodes.LibxcContextRepeated, r, "a second LIBXC_CONTEXT: libxl restores exactly one libxc stream");
                        }

                        return;
                    case XenRecordType.CheckpointEnd:
                        RecordRules.MustBeEmpty(r, _issues);
                        if (!_awaitingCheckpointEnd)
                        {
                            _issues.Add(XenIssueCodes.UnexpectedCheckpointEnd, r, "CHECKPOINT_END without a preceding libxc CHECKPOINT; libxl refuses it (\"Unexpected CHECKPOINT_END\")");
                        }

                        _awaitingCheckpointEnd = false;
                        return;
                    case XenRecordType.CheckpointState:
                        _issues.Add(XenIssueCodes.BackChannelRecord, r, "CHECKPOINT_STATE only travels on the COLO back channel (secondary to primary), never in a saved image");
                        return;
                    case XenRecordType.EmulatorXenstoreData:
                        HvmOnly(r);
                        var xs = (EmulatorXenstoreDataRecord)r;
                        LibxlRules.CheckEmulatorId(r, xs.EmulatorId, _issues);
                        LibxlRules.CheckXenstoreData(xs, _issues);
                        return;
                    case XenRecordType.EmulatorContext:
                        HvmOnly(r);
                        LibxlRules.CheckEmulatorId(r, ((EmulatorContextRecord)r).EmulatorId, _issues);
                        if (_options.CheckEmulatorState)
                        {
                            using Stream payload = r.OpenPayload();
                            QemuStreamRules.Check(payload, r.PayloadLength, _issues.ForPayload(r));
                        }

                        return;
                    default:
                        _issues.Add(XenIssueCodes.UnknownLibxlRecord, r, Fmt("optional libxl record type 0x{0:x8}: libxl refuses every record type it does not know", r.TypeCode));
                        return;
                }
            }

            // What crosses records (order, guest type, version, checkpoints, vCPU ids against the
            // config); then the record's own rules, which live with the libxc format.
            private void OnLibxcRecord(XenStreamRecord r)
            {
                switch (r.Type)
                {
                    case XenRecordType.PageData:
                        _pages += ((PageDataRecord)r).DataPageCount;
                        RequireStaticDataEnd(r, "PAGE_DATA");
                        if (_guest == XenGuestType.Pv && !_p2mSeen && !_pageDataSeen)
                        {
                            _issues.Add(XenIssueCodes.RecordOrder, r, "PAGE_DATA before X86_PV_P2M_FRAMES in a PV stream");
                        }

                        _pageDataSeen = true;
                        break;
                    case XenRecordType.PvInfo:
                        PvOnly(r);
                        if (++_pvInfoCount > 1)
                        {
                            _issues.Add(XenIssueCodes.PvInfoRepeated, r, "a second X86_PV_INFO; Xen refuses it");
                            return;
                        }

                        _pvWidth = LibxcRules.CheckPvInfo((PvInfoRecord)r, _issues);
                        return;
                    case XenRecordType.PvP2mFrames:
                        PvOnly(r);
                        RequireStaticDataEnd(r, "X86_PV_P2M_FRAMES");
                        if (_pvInfoCount == 0)
                        {
                            _issues.Add(XenIssueCodes.RecordOrder, r, "X86_PV_P2M_FRAMES before X86_PV_INFO");
                        }

                        _p2mSeen = true;
                        break;
                    case XenRecordType.PvVcpuBasic:
                    case XenRecordType.PvVcpuExtended:
                    case XenRecordType.PvVcpuXsave:
                    case XenRecordType.PvVcpuMsrs:
                        var vcpu = (PvVcpuRecord)r;
                        PvOnly(vcpu);
                        if (!_pageDataSeen)
                        {
                            _issues.Add(XenIssueCodes.RecordOrder, vcpu, Fmt("{0} for vCPU {1} before any PAGE_DATA", vcpu.Type, vcpu.VcpuId));
                        }

                        CheckVcpuId(vcpu, vcpu.VcpuId, vcpu.Offset + 8);
                        break;
                    case XenRecordType.HvmParams:
                        HvmOnly(r);
                        if (_contextThisCycle && !_paramsThisCycle && !_contextOrderReported)
                        {
                            _contextOrderReported = true;
                            _issues.Add(XenIssueCodes.ContextBeforeParams, r, "HVM_PARAMS after HVM_CONTEXT: the spec asks for HVM_PARAMS first (Xen's own saver writes this order and restores either)");
                        }

                        _paramsThisCycle = true;
                        break;
                    case XenRecordType.End:
                        LibxcRules.Check(r, _pvWidth, _issues);
                        OnLibxcEnd(r);
                        return;
                    case XenRecordType.Checkpoint:
                        _checkpointed = true;
                        if (_options.SourceIsFile && !_checkpointInFileReported)
                        {
                            _checkpointInFileReported = true;
                            _issues.Add(XenIssueCodes.CheckpointInFile, r, "a checkpointed (Remus/COLO) stream in a file: a secondary restores it live, but xl restore of a plain save refuses it (\"Found checkpoint in non-checkpointed stream\")");
                        }

                        _awaitingCheckpointEnd = _libxl;
                        _contextThisCycle = false;
                        _paramsThisCycle = false;
                        break;
                    case XenRecordType.Verify:
                        LibxcRules.Check(r, _pvWidth, _issues);
                        _issues.Add(XenIssueCodes.VerifyRecord, r, "VERIFY: the pages that follow are compared with the guest's, not restored (a debugging stream)");
                        return;
                    case XenRecordType.StaticDataEnd:
                        LibxcRules.Check(r, _pvWidth, _issues);
                        if (_version < 3)
                        {
                            _issues.Add(XenIssueCodes.RecordNotInVersion, r, "STATIC_DATA_END is a version 3 record; this stream is version 2");
                        }
                        else if (++_staticDataEnds > 1)
                        {
                            _issues.Add(XenIssueCodes.StaticDataEndRepeated, r, "a second STATIC_DATA_END (Xen: \"Multiple STATIC_DATA_END records found\")");
                        }

                        return;
                    case XenRecordType.CpuidPolicy:
                    case XenRecordType.MsrPolicy:
                        string name = r.Type == XenRecordType.CpuidPolicy ? "X86_CPUID_POLICY" : "X86_MSR_POLICY";
                        if (_version < 3)
                        {
                            _issues.Add(XenIssueCodes.RecordNotInVersion, r, name + " is a version 3 record; this stream is version 2");
                        }
                        else if (_staticDataEnds > 0)
                        {
                            _issues.Add(XenIssueCodes.PolicyAfterStaticData, r, name + " after STATIC_DATA_END; policies belong to the static data");
                        }

                        break;
                    case XenRecordType.SharedInfo:
                        PvOnly(r);
                        if (_pvInfoCount == 0)
                        {
                            _issues.Add(XenIssueCodes.RecordOrder, r, "SHARED_INFO before X86_PV_INFO");
                        }

                        break;
                    case XenRecordType.HvmContext:
                        OnHvmContext(r);
                        return;
                    case XenRecordType.Toolstack:
                        _issues.Add(XenIssueCodes.ToolstackRecord, r, "TOOLSTACK is deprecated and Xen's restore fails on it");
                        return;
                    case XenRecordType.CheckpointDirtyPfnList:
                        _issues.Add(XenIssueCodes.BackChannelRecord, r, "CHECKPOINT_DIRTY_PFN_LIST only travels on the COLO back channel (secondary to primary), never in a saved image");
                        return;
                    case XenRecordType.Unknown:
                        _issues.Add(XenIssueCodes.UnknownOptionalRecord, r, Fmt("optional libxc record type 0x{0:x8}: Xen skips it, Xen's python verifier rejects it", r.TypeCode));
                        return;
                }

                if (LibxcRules.Check(r, _pvWidth, _issues) && r is PvVcpuRecord online)
                {
                    _vcpuBasic.Add(online.VcpuId);
                }
            }

            private void OnLibxcEnd(XenStreamRecord end)
            {
                if (_version >= 3 && _staticDataEnds == 0 && !_staticMissingReported)
                {
                    _staticMissingReported = true;
                    _issues.Add(XenIssueCodes.StaticDataEndMissing, end, "the version 3 stream ended without STATIC_DATA_END");
                }

                if (_guest == XenGuestType.Hvm && !_hvmContextSeen)
                {
                    _issues.Add(XenIssueCodes.HvmContextMissing, end, "the HVM stream ended without HVM_CONTEXT; Xen cannot restore the vCPU and device state");
                }

                if (_guest == XenGuestType.Pv)
                {
                    if (_pvInfoCount == 0)
                    {
                        _issues.Add(XenIssueCodes.PvInfoMissing, end, "the PV stream ended without X86_PV_INFO");
                    }

                    if (!_vcpuBasic.Contains(0))
                    {
                        _issues.Add(XenIssueCodes.Vcpu0BasicMissing, end, "the PV stream ended without X86_PV_VCPU_BASIC for vCPU 0 (Xen: \"Sender didn't send vcpu0's basic state\")");
                    }
                }
            }

            private void OnHvmContext(XenStreamRecord r)
            {
                HvmOnly(r);
                _hvmContextSeen = true;
                _contextThisCycle = true;
                if (r.Length == 0)
                {
                    _issues.Add(XenIssueCodes.RecordLength, r, "HVM_CONTEXT is empty");
                    return;
                }

                try
                {
                    using Stream payload = r.OpenPayload();
                    HvmContextRules.Check(payload, checked((int)r.PayloadLength), _issues.ForPayload(r), _maxVcpus);
                }
                catch (EndOfStreamException)
                {
                    throw new XenTruncatedException(Fmt("Unexpected end of stream while reading the HVM context of record #{0} (offset {1}, {2} bytes).", r.Index, r.PayloadOffset, r.PayloadLength), r.PayloadOffset + r.PayloadLength, r.Index, nameof(XenRecordType.HvmContext));
                }
            }

            private void CheckVcpuId(XenStreamRecord r, uint vcpu, long offset)
            {
                if (_maxVcpus is int max && vcpu >= max && _issues.Describe(XenIssueCodes.VcpuId))
                {
                    _issues.Add(XenIssueCodes.VcpuId, offset, r, Fmt("vCPU {0} is not below max_vcpus {1} of the domain configuration", vcpu, max));
                }
            }

            private void RequireStaticDataEnd(XenStreamRecord r, string what)
            {
                if (_version >= 3 && _staticDataEnds == 0 && !_staticMissingReported)
                {
                    _staticMissingReported = true;
                    _issues.Add(XenIssueCodes.StaticDataEndMissing, r, what + " before STATIC_DATA_END in a version 3 stream (Xen: \"No STATIC_DATA_END seen\")");
                }
            }

            private void PvOnly(XenStreamRecord r)
            {
                if (_guest == XenGuestType.Hvm)
                {
                    _issues.Add(XenIssueCodes.RecordNotForGuestType, r, Fmt("{0} is a PV record but this is an HVM stream", r.Type));
                }
            }

            private void HvmOnly(XenStreamRecord r)
            {
                if (_guest == XenGuestType.Pv)
                {
                    _issues.Add(XenIssueCodes.RecordNotForGuestType, r, Fmt("{0} is an HVM record but this is a PV stream", r.Type));
                }
            }

            private void ReportLegacy(XenStreamRecord r, string message)
            {
                if (!_legacyReported)
                {
                    _legacyReported = true;
                    _issues.Add(XenIssueCodes.LegacyConverted, r, message);
                }
            }

            private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
        }
    }
}
