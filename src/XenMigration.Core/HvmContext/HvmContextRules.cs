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
            var walk = new HvmContextWalk(blob, length, (_, _) => PrefixLength);
            while (walk.MoveNext())
            {
                rules.OnEntry(walk.Current, walk.Payload);
            }

            rules.Finish(length, walk.EndOffset, walk.Fault, walk.FaultOffset);
        }

        /// <summary>Bytes of each entry the rules look at (HEADER's magic and version, CPU_MSR's count).</summary>
        private const int PrefixLength = 16;

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

            private void CheckEntry(ReadOnlySpan<byte> prefix, HvmEntryDescriptor e)
            {
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

                if (e.Typecode == HvmContextFormat.EndCode && (e.Instance != 0 || e.Length != 0))
                {
                    problem = "END must have instance 0 and length 0";
                }

                if (problem is not null)
                {
                    if (_sink.Describe(XenIssueCodes.HvmContextEntryLength)) _sink.Report(XenIssueCodes.HvmContextEntryLength, e.Offset, Fmt("{0} instance {1} is {2} bytes; it {3}", e.Name, e.Instance, e.Length, problem));
                }
            }
        }
    }
}
