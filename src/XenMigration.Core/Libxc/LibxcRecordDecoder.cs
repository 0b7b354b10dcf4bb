using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libxc
{
    /// <summary>
    /// Decodes the bodies of the libxc record types that carry data (docs/formats §3.4-§3.10). The stream
    /// reader keeps the layering (END, CHECKPOINT, STATIC_DATA_END) and hands every other libxc
    /// record here; a type added to the format is added here and in <see cref="LibxcFormat"/>.
    /// </summary>
    internal static class LibxcRecordDecoder
    {
        /// <summary>Decodes and checks the 24-byte image header (§3.1); refusals go through <paramref name="error"/>.</summary>
        public static ImageHeaderRecord DecodeImageHeader(ReadOnlySpan<byte> span, in RecordContext context, Func<string, string, Exception> error)
        {
            var r = new SpanReader(span, bigEndian: true);
            ulong marker = r.U64();
            uint id = r.U32();
            uint version = r.U32();
            ushort options = r.U16();
            ushort reserved1 = r.U16();
            uint reserved2 = r.U32();
            if (marker != LibxcFormat.Marker)
            {
                throw error(XenErrorIds.InvalidHeader, "the marker is " + HexText.Of(span.Slice(0, 8)) + ", not all ones");
            }

            if (id != LibxcFormat.Id)
            {
                throw error(XenErrorIds.InvalidHeader, "the id is " + HexText.Of(span.Slice(8, 4)) + ", not \"XENF\"");
            }

            if (version < 2 || version > 3)
            {
                throw error(XenErrorIds.UnsupportedVersion, string.Format(CultureInfo.InvariantCulture, "libxc stream version {0} is not supported (versions 2 and 3 are)", version));
            }

            return new ImageHeaderRecord(context, marker, id, version, options, reserved1, reserved2);
        }

        /// <summary>Decodes the 16-byte domain header (§3.2).</summary>
        public static DomainHeaderRecord DecodeDomainHeader(ReadOnlySpan<byte> span, in RecordContext context)
        {
            var r = new SpanReader(span);
            return new DomainHeaderRecord(context, r.U32(), r.U16(), r.U16(), r.U32(), r.U32());
        }

        /// <summary>The decoded record, or null for a type this decoder does not know.</summary>
        public static XenStreamRecord? Decode(RecordFrame frame, XenRecordType type, IRecordDecoding d)
        {
            switch (frame.Type)
            {
                case LibxcFormat.PageData:
                    return ReadPageData(frame, d);

                case LibxcFormat.X86PvInfo:
                {
                    var r = new SpanReader(d.Frames.ReadFixed(8, "the guest width and page-table levels"));
                    byte width = r.U8();
                    byte levels = r.U8();
                    ReadOnlySpan<byte> reserved = r.Bytes(6);
                    ulong reservedValue = 0;
                    for (int i = reserved.Length - 1; i >= 0; i--)
                    {
                        reservedValue = (reservedValue << 8) | reserved[i];
                    }

                    d.GuestWidth = width;
                    return new PvInfoRecord(d.Decoded(frame, XenLayer.Libxc, type), width, levels, reservedValue);
                }

                case LibxcFormat.X86PvP2mFrames:
                {
                    var r = new SpanReader(d.Frames.ReadFixed(8, "the start and end pfn"));
                    uint start = r.U32();
                    uint end = r.U32();
                    long frameCount = d.Frames.BodyRemaining / 8;
                    ulong[] frames = d.Frames.ReadEntries(frameCount, 8, e => BinaryPrimitives.ReadUInt64LittleEndian(e), "p2m frames", Limits.MaxRetainedEntries);
                    return new PvP2mFramesRecord(d.Decoded(frame, XenLayer.Libxc, type), start, end, frames, frameCount);
                }

                case LibxcFormat.X86PvVcpuBasic:
                case LibxcFormat.X86PvVcpuExtended:
                case LibxcFormat.X86PvVcpuXsave:
                case LibxcFormat.X86PvVcpuMsrs:
                {
                    var r = new SpanReader(d.Frames.ReadFixed(8, "the vcpu id"));
                    uint vcpu = r.U32();
                    uint reserved = r.U32();
                    return new PvVcpuRecord(d.Payload(frame, XenLayer.Libxc, type), vcpu, reserved, d.GuestWidth);
                }

                case LibxcFormat.SharedInfo:
                case LibxcFormat.HvmContext:
                case LibxcFormat.Toolstack:
                    return new BlobRecord(d.Payload(frame, XenLayer.Libxc, type));

                case LibxcFormat.X86TscInfo:
                {
                    var r = new SpanReader(d.Frames.ReadFixed(24, "the TSC fields"));
                    return new TscInfoRecord(d.Decoded(frame, XenLayer.Libxc, type), r.U32(), r.U32(), r.U64(), r.U32(), r.U32());
                }

                case LibxcFormat.HvmParams:
                {
                    var r = new SpanReader(d.Frames.ReadFixed(8, "the param count"));
                    uint count = r.U32();
                    uint reserved = r.U32();
                    var unknown = new EntryTally();
                    // Decoded as raw pairs so that entries beyond the kept ones allocate nothing.
                    KeyValuePair<ulong, ulong>[] raw = d.Frames.ReadEntries(
                        count,
                        16,
                        e => new KeyValuePair<ulong, ulong>(BinaryPrimitives.ReadUInt64LittleEndian(e), BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(8))),
                        "params",
                        Limits.MaxRetainedEntries,
                        (p, i) =>
                        {
                            if (i >= Limits.MaxRetainedEntries && !HvmParamNames.IsDefined(p.Key))
                            {
                                unknown.Add(i);
                            }
                        });
                    var parameters = new HvmParam[raw.Length];
                    for (int i = 0; i < raw.Length; i++)
                    {
                        parameters[i] = new HvmParam(raw[i].Key, raw[i].Value);
                    }

                    return new HvmParamsRecord(d.Decoded(frame, XenLayer.Libxc, type), count, reserved, parameters, unknown);
                }

                case LibxcFormat.CheckpointDirtyPfnList:
                {
                    long pfnCount = d.Frames.BodyRemaining / 8;
                    ulong[] pfns = d.Frames.ReadEntries(pfnCount, 8, e => BinaryPrimitives.ReadUInt64LittleEndian(e), "pfns", Limits.MaxRetainedEntries);
                    return new CheckpointDirtyPfnListRecord(d.Decoded(frame, XenLayer.Libxc, type), pfns, pfnCount);
                }

                case LibxcFormat.X86CpuidPolicy:
                {
                    long leafCount = d.Frames.BodyRemaining / 24;
                    CpuidLeaf[] leaves = d.Frames.ReadEntries(leafCount, 24, DecodeCpuidLeaf, "CPUID leaves", Limits.MaxRetainedEntries);
                    return new CpuidPolicyRecord(d.Decoded(frame, XenLayer.Libxc, type), leaves, leafCount);
                }

                case LibxcFormat.X86MsrPolicy:
                {
                    long entryCount = d.Frames.BodyRemaining / 16;
                    var flagsSet = new EntryTally();
                    // Decoded as value tuples: entries beyond the kept ones allocate nothing.
                    (uint Index, uint Flags, ulong Value)[] raw = d.Frames.ReadEntries(
                        entryCount,
                        16,
                        e => (Index: BinaryPrimitives.ReadUInt32LittleEndian(e), Flags: BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(4)), Value: BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(8))),
                        "MSR entries",
                        Limits.MaxRetainedEntries,
                        (m, i) =>
                        {
                            if (i >= Limits.MaxRetainedEntries && m.Flags != 0)
                            {
                                flagsSet.Add(i);
                            }
                        });
                    var entries = new MsrEntry[raw.Length];
                    for (int i = 0; i < raw.Length; i++)
                    {
                        entries[i] = new MsrEntry(raw[i].Index, raw[i].Flags, raw[i].Value);
                    }

                    return new MsrPolicyRecord(d.Decoded(frame, XenLayer.Libxc, type), entries, entryCount, flagsSet);
                }

                default:
                    return null;
            }
        }

        private static CpuidLeaf DecodeCpuidLeaf(ReadOnlySpan<byte> e)
        {
            var r = new SpanReader(e);
            return new CpuidLeaf(r.U32(), r.U32(), r.U32(), r.U32(), r.U32(), r.U32());
        }

        private static readonly EntryTally s_none = new EntryTally();
        private static readonly EntryDecoder<PageFrame> s_decodeFrame = e => new PageFrame(BinaryPrimitives.ReadUInt64LittleEndian(e));

        // Per entry, so compiled optimized at once (see Hot).
        [MethodImpl(Hot.Optimize)]
        private static long CountDataPages(PageFrame[] frames)
        {
            long n = 0;
            foreach (PageFrame f in frames)
            {
                int type = (int)(f.Word >> LibxcFormat.PageTypeShift);
                if (type <= 0x4 || (type >= 0x9 && type <= 0xC))
                {
                    n++;
                }
            }

            return n;
        }

        private static XenStreamRecord ReadPageData(RecordFrame frame, IRecordDecoding d)
        {
            var r = new SpanReader(d.Frames.ReadFixed(8, "the pfn count"));
            uint count = r.U32();
            uint reserved = r.U32();
            PageFrame[] frames;
            long dataPages = 0;
            ulong? lastPfn = null;
            EntryTally invalidTypes = s_none, reservedBits = s_none;
            if (count <= Limits.MaxRetainedEntries)
            {
                // Every real batch (Xen writes at most 1024 pfns): all entries are kept, and the
                // counts come from the array, with no per-entry callback or allocation.
                frames = new PageFrame[count];
                d.Frames.ReadWords(MemoryMarshal.Cast<PageFrame, ulong>(frames.AsSpan()), "pfns");
                dataPages = CountDataPages(frames);
                lastPfn = frames.Length == 0 ? null : frames[frames.Length - 1].Pfn;
            }
            else
            {
                var invalid = new EntryTally();
                var reservedSet = new EntryTally();
                frames = d.Frames.ReadEntries(
                    count,
                    8,
                    s_decodeFrame,
                    "pfns",
                    Limits.MaxRetainedEntries,
                    (f, i) =>
                    {
                        if (f.HasData)
                        {
                            dataPages++;
                        }

                        lastPfn = f.Pfn;
                        if (i >= Limits.MaxRetainedEntries)
                        {
                            if (!LibxcFormat.IsValidPageType((int)f.Type))
                            {
                                invalid.Add(i);
                            }

                            if (f.ReservedBits != 0)
                            {
                                reservedSet.Add(i);
                            }
                        }
                    });
                invalidTypes = invalid;
                reservedBits = reservedSet;
            }

            return new PageDataRecord(d.Payload(frame, XenLayer.Libxc, XenRecordType.PageData), count, reserved, frames, dataPages, lastPfn, invalidTypes, reservedBits);
        }

    }
}
