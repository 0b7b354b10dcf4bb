using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using XenMigration.Framing;
using XenMigration.Rules;

namespace XenMigration.HvmContext
{
    /// <summary>
    /// The rules of the HVM context blob, as Xen's loader applies them (docs/formats §6): HEADER first with
    /// its magic and version, known typecodes, each typecode's length rule, per-domain instances,
    /// vCPU ids below max_vcpus, duplicates, END last. The blob is checked as it streams past, so its
    /// size does not matter; issues go to <see cref="IIssueSink"/> at blob offsets.
    /// </summary>
    internal static class HvmContextRules
    {
        /// <summary>Checks the <paramref name="length"/>-byte blob read from <paramref name="blob"/>.</summary>
        /// <exception cref="EndOfStreamException">The stream ends before the blob does.</exception>
        public static void Check(Stream blob, int length, IIssueSink sink, int? maxVcpus)
        {
            var rules = new Walk(sink, maxVcpus);
            var walk = new HvmContextWalk(blob, length, BytesToCheck);
            while (walk.MoveNext())
            {
                rules.OnEntry(walk.Current, walk.Payload);
            }

            rules.Finish(length, walk.EndOffset, walk.Fault, walk.FaultOffset);
        }

        /// <summary>Bytes of each entry the rules look at: HEADER's magic and version, CPU_MSR's MSRs, CPU_XSAVE's header.</summary>
        private const int PrefixLength = 16;

        // MSRs Xen's hvm_load_cpu_msrs restores (msrs_to_send): SPEC_CTRL, MISC_FEATURES_ENABLES,
        // PKRS, BNDCFGS, XSS, VIRT_SPEC_CTRL and the AMD DR0-3 address masks.
        private static readonly uint[] s_msrs = { 0x48, 0x140, 0x6E1, 0xD90, 0xDA0, 0xC001011F, 0xC0011027, 0xC0011019, 0xC001101A, 0xC001101B };

        private static int BytesToCheck(ushort code, uint length) => code switch
        {
            20 => 8 + (16 * 4096),
            16 => HvmContextFormat.XsaveMinimum,
            _ => PrefixLength,
        };

        private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);

        private sealed class Walk
        {
            // Duplicate detection remembers at most this many typecode/instance pairs (a real
            // context has a few per vCPU).
            private const int MaxRemembered = Limits.MaxHvmEntriesRemembered;
            private readonly IIssueSink _sink;
            private readonly int? _maxVcpus;
            private readonly HashSet<uint> _seen = new HashSet<uint>();
            private int _count;

            public Walk(IIssueSink sink, int? maxVcpus)
            {
                _sink = sink;
                _maxVcpus = maxVcpus;
            }

            public void OnEntry(HvmEntryDescriptor e, ReadOnlySpan<byte> prefix)
            {
                if (_count++ == 0)
                {
                    CheckHeader(e, prefix);
                }
                else if (e.Typecode == HvmContextFormat.HeaderCode)
                {
                    _sink.Report(XenIssueCodes.HvmContextHeader, e.Offset, "a second HEADER entry");
                }

                CheckEntry(prefix, e);
                uint key = ((uint)e.Typecode << 16) | e.Instance;
                if (_seen.Contains(key))
                {
                    if (_sink.Describe(XenIssueCodes.HvmContextDuplicate)) _sink.Report(XenIssueCodes.HvmContextDuplicate, e.Offset, Fmt("{0} instance {1} appears twice; the later one wins", e.Name, e.Instance));
                }
                else if (_seen.Count < MaxRemembered)
                {
                    _seen.Add(key);
                }
            }

            public void Finish(int length, int endOffset, string? fault, int faultOffset)
            {
                if (_count == 0)
                {
                    _sink.Report(XenIssueCodes.HvmContextHeader, 0, "the HVM context has no entries");
                }

                if (fault is not null)
                {
                    _sink.Report(XenIssueCodes.HvmContextStructure, faultOffset, "the HVM context's entries do not add up: " + fault);
                }
                else if (endOffset < 0)
                {
                    _sink.Report(XenIssueCodes.HvmContextStructure, length, "the HVM context has no END entry");
                }
                else if (endOffset < length)
                {
                    _sink.Report(XenIssueCodes.HvmContextTrailingData, endOffset, Fmt("{0} bytes follow the HVM context's END entry", length - endOffset));
                }
            }

            private void CheckHeader(HvmEntryDescriptor header, ReadOnlySpan<byte> prefix)
            {
                if (header.Typecode != HvmContextFormat.HeaderCode)
                {
                    _sink.Report(XenIssueCodes.HvmContextHeader, 0, Fmt("the HVM context starts with {0}, not HEADER", header.Name));
                }
                else if (header.Length != 24)
                {
                    _sink.Report(XenIssueCodes.HvmContextHeader, header.Offset, Fmt("the HEADER entry is {0} bytes, not 24", header.Length));
                }
                else
                {
                    var h = new SpanReader(prefix);
                    uint magic = h.U32();
                    uint version = h.U32();
                    if (magic != HvmContextFormat.HeaderMagic || version != HvmContextFormat.HeaderVersion)
                    {
                        _sink.Report(XenIssueCodes.HvmContextHeader, header.PayloadOffset, Fmt("HEADER magic 0x{0:x8} version {1}; Xen requires magic 0x54381286 version 1", magic, version));
                    }
                }
            }

            // hvm_load_cpu_msrs: every reserved word zero (else -EOPNOTSUPP), every index one it restores (else -ENXIO).
            private void CheckMsrs(HvmEntryDescriptor e, ReadOnlySpan<byte> payload)
            {
                var r = new SpanReader(payload);
                uint count = r.U32();
                r.Skip(4);
                for (uint i = 0; i < count && r.Remaining >= 16; i++)
                {
                    int at = e.PayloadOffset + 8 + (int)(16 * i);
                    uint index = r.U32();
                    uint reserved = r.U32();
                    r.Skip(8);
                    if (reserved != 0)
                    {
                        if (_sink.Describe(XenIssueCodes.HvmMsrRefused)) _sink.Report(XenIssueCodes.HvmMsrRefused, at + 4, Fmt("CPU_MSR of vCPU {0}: MSR 0x{1:x} has reserved word 0x{2:x}; hvm_load_cpu_msrs returns -EOPNOTSUPP", e.Instance, index, reserved));
                    }
                    else if (Array.IndexOf(s_msrs, index) < 0)
                    {
                        if (_sink.Describe(XenIssueCodes.HvmMsrRefused)) _sink.Report(XenIssueCodes.HvmMsrRefused, at, Fmt("CPU_MSR of vCPU {0}: MSR 0x{1:x} ({2}) is not one Xen restores; hvm_load_cpu_msrs returns -ENXIO", e.Instance, index, X86.X86Names.MsrName(index)));
                    }
                }
            }

            private void CheckEntry(ReadOnlySpan<byte> prefix, HvmEntryDescriptor e)
            {
                if (e.Typecode == HvmContextFormat.EndCode)
                {
                    // hvm_load stops at END without reading its instance or length.
                    if (e.Instance != 0 || e.Length != 0)
                    {
                        _sink.Report(XenIssueCodes.HvmContextEndNotEmpty, e.Offset, Fmt("END has instance {0} and length {1}; Xen's loader stops at END without reading them", e.Instance, e.Length));
                    }

                    return;
                }

                HvmTypeInfo? info = HvmContextFormat.TypeOf(e.Typecode);
                if (info is null)
                {
                    if (_sink.Describe(XenIssueCodes.HvmContextTypecode)) _sink.Report(XenIssueCodes.HvmContextTypecode, e.Offset, Fmt("typecode {0} (instance {1}, {2} bytes) is not defined by Xen", e.Typecode, e.Instance, e.Length));
                    return;
                }

                if (info.Scope == HvmEntryScope.Domain)
                {
                    if (e.Instance > info.MaxDomainInstance)
                    {
                        if (_sink.Describe(XenIssueCodes.HvmContextInstance)) _sink.Report(XenIssueCodes.HvmContextInstance, e.Offset, Fmt("{0} is a per-domain entry but has instance {1}", e.Name, e.Instance));
                    }
                }
                else
                {
                    if (_maxVcpus is int max && e.Instance >= max && _sink.Describe(XenIssueCodes.VcpuId))
                    {
                        _sink.Report(XenIssueCodes.VcpuId, e.Offset, Fmt("vCPU {0} is not below max_vcpus {1} of the domain configuration", e.Instance, max));
                    }
                }

                string? problem = null;
                switch (info.Rule)
                {
                    case HvmLengthRule.Strict when e.Length != info.Size:
                        problem = info.LengthRuleText;
                        break;
                    case HvmLengthRule.AtMost when e.Length > info.Size || e.Length == 0:
                        problem = info.LengthRuleText;
                        break;
                    case HvmLengthRule.Custom when e.Typecode == 16:
                        if (e.Length == 0)
                        {
                            _sink.Report(XenIssueCodes.HvmContextEmptyXsave, e.Offset, Fmt("CPU_XSAVE for vCPU {0} is empty (written by Xen before 4.12; tolerated)", e.Instance));
                        }
                        else if (e.Length < HvmContextFormat.XsaveMinimum)
                        {
                            problem = Fmt("must be at least {0} bytes (masks, legacy area and XSAVE header)", HvmContextFormat.XsaveMinimum);
                        }

                        break;
                    case HvmLengthRule.Custom when e.Typecode == 20:
                        if (e.Length < 24 || (e.Length - 8) % 16 != 0)
                        {
                            problem = "must be 8 + 16 * count bytes with at least one MSR";
                        }
                        else
                        {
                            uint count = new SpanReader(prefix).U32();
                            if (8 + (16L * count) != e.Length)
                            {
                                problem = Fmt("declares {0} MSRs, which need {1} bytes", count, 8 + (16L * count));
                            }
                        }

                        break;
                }

                if (problem is null && e.Typecode == 20)
                {
                    CheckMsrs(e, prefix);
                }

                if (problem is null && e.Typecode == 16 && prefix.Length >= HvmContextFormat.XsaveMinimum)
                {
                    ulong xcompBv = new SpanReader(prefix).U64At(24 + 512 + 8);
                    if ((xcompBv & 0x8000000000000000UL) != 0 && _sink.Describe(XenIssueCodes.HvmXsaveCompacted))
                    {
                        _sink.Report(XenIssueCodes.HvmXsaveCompacted, e.PayloadOffset + 24 + 512 + 8, Fmt("CPU_XSAVE for vCPU {0} is in compacted form (XCOMP_BV 0x{1:x}); Xen's validate_xstate refuses it", e.Instance, xcompBv));
                    }
                }

                if (problem is not null)
                {
                    if (_sink.Describe(XenIssueCodes.HvmContextEntryLength)) _sink.Report(XenIssueCodes.HvmContextEntryLength, e.Offset, Fmt("{0} instance {1} is {2} bytes; it {3}", e.Name, e.Instance, e.Length, problem));
                }
            }
        }
    }
}
