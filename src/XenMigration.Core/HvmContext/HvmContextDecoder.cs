using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using XenMigration.Framing;
using XenMigration.Libxc;
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
            int pos = 0;
            while (pos < blob.Length)
            {
                long at = fileOffset + pos;
                if (blob.Length - pos < HvmContextFormat.DescriptorSize)
                {
                    throw Bad(at, recordIndex, string.Format(CultureInfo.InvariantCulture, "{0} bytes are too few for an entry descriptor (8)", blob.Length - pos));
                }

                ushort code = BinaryPrimitives.ReadUInt16LittleEndian(blob.AsSpan(pos));
                ushort instance = BinaryPrimitives.ReadUInt16LittleEndian(blob.AsSpan(pos + 2));
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(pos + 4));
                int payload = pos + HvmContextFormat.DescriptorSize;
                if (length > (uint)(blob.Length - payload))
                {
                    throw Bad(at, recordIndex, string.Format(CultureInfo.InvariantCulture, "the {0} entry declares {1} bytes but only {2} remain", HvmContextFormat.NameOf(code), length, blob.Length - payload));
                }

                var source = new HvmEntrySource(filePath, recordIndex, checkpoint, code, instance, at, length);
                yield return DecodeEntry(source, new ReadOnlySpan<byte>(blob, payload, (int)length), recordIndex);
                pos = payload + (int)length;
                if (code == HvmContextFormat.EndCode)
                {
                    yield break;
                }
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

            return Decode(RecordPayload.ReadAll(record, MaxBlob, "HVM context"), record.PayloadOffset, record.FilePath, record.Index, checkpoint);
        }

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
                case HvmLengthRule.Strict when payload.Length != info.Size:
                case HvmLengthRule.AtMost when payload.Length > info.Size || payload.Length == 0:
                    wrong = info.LengthRuleText;
                    break;
                case HvmLengthRule.Custom when s.Code == (ushort)HvmTypeCode.CpuXsave && payload.Length != 0 && payload.Length < HvmContextFormat.XsaveMinimum:
                    wrong = string.Format(CultureInfo.InvariantCulture, "must be at least {0} bytes", HvmContextFormat.XsaveMinimum);
                    break;
                case HvmLengthRule.Custom when s.Code == (ushort)HvmTypeCode.CpuMsr:
                    uint count = payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : 0;
                    if (payload.Length < 24 || 8 + (16L * count) != payload.Length)
                    {
                        wrong = string.Format(CultureInfo.InvariantCulture, "must be 8 + 16 * count bytes (count {0})", count);
                    }

                    break;
            }

            if (wrong is not null)
            {
                throw Bad(s.Offset, recordIndex, string.Format(CultureInfo.InvariantCulture, "the {0} entry (instance {1}) is {2} bytes; it {3}", info.Name, s.Instance, payload.Length, wrong));
            }

            // Shorter older layouts are read zero-extended, as Xen's loader does.
            byte[] full = new byte[Math.Max(payload.Length, info.Size)];
            payload.CopyTo(full);
            var f = new HvmFields(full);
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

    /// <summary>Little-endian fields of one entry's payload (zero-extended to its full size).</summary>
    internal ref struct HvmFields
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _pos;

        public HvmFields(ReadOnlySpan<byte> data)
        {
            _data = data;
            _pos = 0;
        }

        public byte U8() => _data[_pos++];

        public ushort U16() { ushort v = U16At(_pos); _pos += 2; return v; }

        public uint U32() { uint v = U32At(_pos); _pos += 4; return v; }

        public ulong U64() { ulong v = U64At(_pos); _pos += 8; return v; }

        public long I64() => unchecked((long)U64());

        public void Skip(int n) => _pos += n;

        public byte U8At(int at) => _data[at];

        public ushort U16At(int at) => BinaryPrimitives.ReadUInt16LittleEndian(_data.Slice(at));

        public uint U32At(int at) => BinaryPrimitives.ReadUInt32LittleEndian(_data.Slice(at));

        public ulong U64At(int at) => BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(at));

        public byte[] Bytes(int n) { byte[] b = _data.Slice(_pos, n).ToArray(); _pos += n; return b; }

        public uint[] U32s(int n)
        {
            uint[] v = new uint[n];
            for (int i = 0; i < n; i++)
            {
                v[i] = U32();
            }

            return v;
        }

        public ulong[] U64s(int n)
        {
            ulong[] v = new ulong[n];
            for (int i = 0; i < n; i++)
            {
                v[i] = U64();
            }

            return v;
        }
    }
}
