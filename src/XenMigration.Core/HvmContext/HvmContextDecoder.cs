using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.HvmContext
{
    /// <summary>
    /// Decodes the entries of HVM context blobs (docs/formats §6): from a blob in memory, from the
    /// HVM_CONTEXT records of a Xen image, or from one such record.
    /// </summary>
    public static class HvmContextDecoder
    {
        /// <summary>The largest blob decoded (Xen's record limit).</summary>
        public const int MaxBlob = Limits.MaxRecordLength;

        /// <summary>
        /// The entries of a blob, in order, up to and including END. <paramref name="fileOffset"/> is
        /// where the blob starts in its file, for the entries' offsets and error messages.
        /// </summary>
        /// <exception cref="XenFormatException">An entry is cut off or breaks its typecode's length rule; the entries before it have been returned.</exception>
        public static IEnumerable<HvmContextEntry> Decode(byte[] blob, long fileOffset = 0, string? filePath = null, long recordIndex = -1, int checkpoint = 0)
        {
            if (blob is null)
            {
                throw new ArgumentNullException(nameof(blob));
            }

            return DecodeIterator(blob, fileOffset, filePath, recordIndex, checkpoint);
        }

        private static IEnumerable<HvmContextEntry> DecodeIterator(byte[] blob, long fileOffset, string? filePath, long recordIndex, int checkpoint)
        {
            using var stream = new MemoryStream(blob, writable: false);
            foreach (HvmContextEntry e in DecodeStream(stream, blob.Length, fileOffset, filePath, recordIndex, checkpoint))
            {
                yield return e;
            }
        }

        // One entry at a time as the blob streams past: memory is the largest entry, not the blob.
        private static IEnumerable<HvmContextEntry> DecodeStream(Stream blob, int length, long fileOffset, string? filePath, long recordIndex, int checkpoint)
        {
            var walk = new HvmContextWalk(blob, length, BytesToDecode);
            while (true)
            {
                bool more;
                try
                {
                    more = walk.MoveNext();
                }
                catch (EndOfStreamException)
                {
                    throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream inside the HVM context at offset 0x{0:X} ({1} bytes).", fileOffset, length), fileOffset + length, recordIndex, nameof(XenRecordType.HvmContext));
                }

                if (!more)
                {
                    break;
                }

                HvmEntryDescriptor d = walk.Current;
                var source = new HvmEntrySource(filePath, recordIndex, checkpoint, d.Typecode, d.Instance, fileOffset + d.Offset, d.Length);
                yield return DecodeEntry(source, walk.Payload, recordIndex);
            }

            if (walk.Fault is string fault)
            {
                throw Bad(fileOffset + walk.FaultOffset, recordIndex, fault);
            }
        }

        /// <summary>The entries of one HVM_CONTEXT record: read from its file, or from its reader while it is current.</summary>
        public static IEnumerable<HvmContextEntry> DecodeRecord(XenStreamRecord record, int checkpoint = 0)
        {
            if (record is null)
            {
                throw new ArgumentNullException(nameof(record));
            }

            if (record.Type != XenRecordType.HvmContext)
            {
                throw new ArgumentException("The record is " + record.Type + ", not an HVM_CONTEXT record.", nameof(record));
            }

            return DecodeRecordIterator(record, checkpoint);
        }

        private static IEnumerable<HvmContextEntry> DecodeRecordIterator(XenStreamRecord record, int checkpoint)
        {
            if (record.PayloadLength > MaxBlob)
            {
                throw Bad(record.PayloadOffset, record.Index, string.Format(CultureInfo.InvariantCulture, "the HVM context is {0} bytes (at most 128 MiB)", record.PayloadLength));
            }

            using Stream payload = record.OpenPayload();
            foreach (HvmContextEntry e in DecodeStream(payload, (int)record.PayloadLength, record.PayloadOffset, record.FilePath, record.Index, checkpoint))
            {
                yield return e;
            }
        }

        /// <summary>The most bytes of an unknown entry kept in <see cref="HvmUnknownEntry.Data"/>.</summary>
        internal const int MaxUnknownData = 1 << 16;

        // What the decoder keeps of an entry: all of a fixed layout, the MSRs a record may keep, and
        // a bounded prefix of anything else, so a 128 MiB entry costs no more than a real one.
        private static int BytesToDecode(ushort code, uint length) => (HvmTypeCode)code switch
        {
            HvmTypeCode.CpuMsr => 8 + (16 * Limits.MaxRetainedEntries),
            HvmTypeCode.CpuXsave => HvmContextFormat.XsaveMinimum,
            _ => HvmContextFormat.TypeOf(code) is HvmTypeInfo info ? info.Size : MaxUnknownData,
        };

        private static HvmContextEntry DecodeEntry(in HvmEntrySource s, ReadOnlySpan<byte> payload, long recordIndex)
        {
            HvmTypeInfo? info = HvmContextFormat.TypeOf(s.Code);
            if (info is null)
            {
                return new HvmUnknownEntry(s, payload.ToArray());
            }

            string? wrong = null;
            switch (info.Rule)
            {
                case HvmLengthRule.Strict when s.Length != info.Size:
                case HvmLengthRule.AtMost when s.Length > info.Size || s.Length == 0:
                    wrong = info.LengthRuleText;
                    break;
                case HvmLengthRule.Custom when s.Code == (ushort)HvmTypeCode.CpuXsave && s.Length != 0 && s.Length < HvmContextFormat.XsaveMinimum:
                    wrong = string.Format(CultureInfo.InvariantCulture, "must be at least {0} bytes", HvmContextFormat.XsaveMinimum);
                    break;
                case HvmLengthRule.Custom when s.Code == (ushort)HvmTypeCode.CpuMsr:
                    uint count = payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : 0;
                    if (s.Length < 24 || 8 + (16L * count) != s.Length)
                    {
                        wrong = string.Format(CultureInfo.InvariantCulture, "must be 8 + 16 * count bytes (count {0})", count);
                    }

                    break;
            }

            if (wrong is not null)
            {
                throw Bad(s.Offset, recordIndex, string.Format(CultureInfo.InvariantCulture, "the {0} entry (instance {1}) is {2} bytes; it {3}", info.Name, s.Instance, s.Length, wrong));
            }

            // Shorter older layouts are read zero-extended, as Xen's loader does.
            byte[] full = new byte[Math.Max(payload.Length, info.Size)];
            payload.CopyTo(full);
            var f = new SpanReader(full, bigEndian: false, baseOffset: s.Offset + HvmContextFormat.DescriptorSize);
            switch ((HvmTypeCode)s.Code)
            {
                case HvmTypeCode.Header: return new HvmHeaderEntry(s, ref f);
                case HvmTypeCode.Cpu: return new HvmCpuEntry(s, ref f);
                case HvmTypeCode.Pic: return new HvmPicEntry(s, ref f);
                case HvmTypeCode.IoApic: return new HvmIoApicEntry(s, ref f);
                case HvmTypeCode.Lapic: return new HvmLapicEntry(s, ref f);
                case HvmTypeCode.LapicRegs: return new HvmLapicRegsEntry(s, ref f);
                case HvmTypeCode.PciIrq:
                case HvmTypeCode.IsaIrq:
                case HvmTypeCode.PciLink: return new HvmIrqEntry(s, ref f);
                case HvmTypeCode.Pit: return new HvmPitEntry(s, ref f);
                case HvmTypeCode.Rtc: return new HvmRtcEntry(s, ref f);
                case HvmTypeCode.Hpet: return new HvmHpetEntry(s, ref f);
                case HvmTypeCode.PmTimer: return new HvmPmTimerEntry(s, ref f);
                case HvmTypeCode.Mtrr: return new HvmMtrrEntry(s, ref f);
                case HvmTypeCode.ViridianDomain: return new HvmViridianDomainEntry(s, ref f);
                case HvmTypeCode.CpuXsave: return new HvmCpuXsaveEntry(s, ref f);
                case HvmTypeCode.ViridianVcpu: return new HvmViridianVcpuEntry(s, ref f);
                case HvmTypeCode.VmceVcpu: return new HvmVmceVcpuEntry(s, ref f);
                case HvmTypeCode.TscAdjust: return new HvmTscAdjustEntry(s, ref f);
                case HvmTypeCode.CpuMsr: return new HvmCpuMsrEntry(s, ref f, BinaryPrimitives.ReadUInt32LittleEndian(full));
                default: return new HvmContextEntry(s);   // END
            }
        }

        private static XenFormatException Bad(long offset, long recordIndex, string what) =>
            new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "Malformed HVM context at offset 0x{0:X} ({0}): {1}.", offset, what), offset, recordIndex, nameof(XenRecordType.HvmContext));
    }
}
