using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Libxc;
using XenMigration.Records;
using XenMigration.Xl;

namespace XenMigration.Rewrite
{
    /// <summary>The edits Set-XenHvmContext and Set-XenSaveConfig make: a record in, an edited record out.</summary>
    internal static class RecordEdits
    {
        /// <summary>
        /// An HVM_CONTEXT record with the given entries written back over their own bytes (entries
        /// are matched by typecode and instance; only values change, never lengths). Null when no
        /// entry of the record was given.
        /// </summary>
        public static XenEditedRecord? HvmContext(XenStreamRecord record, IReadOnlyList<HvmContextEntry> entries)
        {
            if (record.Type != XenRecordType.HvmContext || record.TypeCode is not uint code)
            {
                throw new ArgumentException("Not an HVM_CONTEXT record.", nameof(record));
            }

            byte[] body = RecordPayload.ReadAll(record, Limits.MaxRecordLength, "HVM context");
            var changed = new List<string>();
            int pos = 0;
            while (pos + 8 <= body.Length)
            {
                ushort typeCode = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(pos));
                ushort instance = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(pos + 2));
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(pos + 4));
                if (length > body.Length - pos - 8)
                {
                    throw new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The HVM context's entry at offset {0} runs past the record; it cannot be edited.", record.PayloadOffset + pos), record.PayloadOffset + pos);
                }

                foreach (HvmContextEntry e in entries)
                {
                    if ((ushort)e.TypeCode == typeCode && e.Instance == instance && (e.RecordIndex < 0 || e.RecordIndex == record.Index))
                    {
                        // Entries of kinds with no settable values cannot have been edited: they stay as they are.
                        byte[] before = body.AsSpan(pos + 8, (int)length).ToArray();
                        if (!e.WriteTo(body.AsSpan(pos + 8, (int)length)))
                        {
                            continue;
                        }

                        if (!before.AsSpan().SequenceEqual(body.AsSpan(pos + 8, (int)length)))
                        {
                            changed.Add(string.Format(CultureInfo.InvariantCulture, "{0}[{1}]", e.TypeCode, instance));
                        }
                    }
                }

                if (typeCode == 0)
                {
                    break;
                }

                pos += 8 + (int)length;
            }

            return changed.Count == 0 ? null : new XenEditedRecord(record, XenEditedRecord.Framed(code, body, bigEndian: false), "HVM context " + string.Join(", ", changed));
        }

        /// <summary>
        /// An HVM_PARAMS record with the given params set: a param the record has keeps its place and
        /// only its value changes; one it lacks is appended and the count raised (libxc sends the
        /// params it read as nonzero, so a new one is an addition, as a restore would see it); a param
        /// to remove is cut out and the count lowered. Null when nothing changes.
        /// </summary>
        public static XenEditedRecord? HvmParams(XenStreamRecord record, IReadOnlyList<KeyValuePair<ulong, ulong>> set, IReadOnlyCollection<ulong> remove)
        {
            if (record.Type != XenRecordType.HvmParams || record.TypeCode is not uint code)
            {
                throw new ArgumentException("Not an HVM_PARAMS record.", nameof(record));
            }

            byte[] body = FramedBody(record, "HVM params");
            uint count = body.Length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(body) : throw Short(record);
            if ((ulong)count * 16 > (ulong)(body.Length - 8))
            {
                throw Short(record);
            }

            var output = new List<byte>(body.Length + (16 * set.Count));
            output.AddRange(body.AsSpan(0, 8).ToArray());
            var changed = new List<string>();
            var pending = new Dictionary<ulong, ulong>();
            foreach (KeyValuePair<ulong, ulong> p in set)
            {
                pending[p.Key] = p.Value;
            }

            uint kept = 0;
            for (int i = 0; i < count; i++)
            {
                int at = 8 + (16 * i);
                ulong index = BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(at));
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(at + 8));
                if (System.Linq.Enumerable.Contains(remove, index))
                {
                    changed.Add(HvmParamNames.NameOf(index) + " removed");
                    continue;
                }

                if (pending.TryGetValue(index, out ulong newValue))
                {
                    pending.Remove(index);
                    if (newValue != value)
                    {
                        changed.Add(string.Format(CultureInfo.InvariantCulture, "{0} 0x{1:x} -> 0x{2:x}", HvmParamNames.NameOf(index), value, newValue));
                        value = newValue;
                    }
                }

                output.AddRange(Pair(index, value));
                kept++;
            }

            foreach (KeyValuePair<ulong, ulong> p in set)
            {
                if (pending.Remove(p.Key))
                {
                    changed.Add(string.Format(CultureInfo.InvariantCulture, "{0} = 0x{1:x} added", HvmParamNames.NameOf(p.Key), p.Value));
                    output.AddRange(Pair(p.Key, p.Value));
                    kept++;
                }
            }

            if (changed.Count == 0)
            {
                return null;
            }

            // Bytes after the last entry (none in a well-formed record) are kept as they were.
            output.AddRange(body.AsSpan(8 + (16 * (int)count)).ToArray());
            byte[] edited = output.ToArray();
            BinaryPrimitives.WriteUInt32LittleEndian(edited, kept);
            return new XenEditedRecord(record, XenEditedRecord.Framed(code, edited, bigEndian: false), "HVM params " + string.Join(", ", changed));
        }

        /// <summary>An X86_TSC_INFO record with the given fields changed (null fields keep their values). Null when nothing changes.</summary>
        public static XenEditedRecord? TscInfo(XenStreamRecord record, TscMode? mode, uint? khz, ulong? nanoseconds, uint? incarnation)
        {
            if (record.Type != XenRecordType.TscInfo || record.TypeCode is not uint code)
            {
                throw new ArgumentException("Not an X86_TSC_INFO record.", nameof(record));
            }

            byte[] body = FramedBody(record, "TSC info");
            if (body.Length < 24)
            {
                throw Short(record);
            }

            byte[] before = (byte[])body.Clone();
            var changed = new List<string>();
            if (mode is TscMode m)
            {
                Set32(body, 0, (uint)m, "Mode", changed);
            }

            if (khz is uint k)
            {
                Set32(body, 4, k, "Khz", changed);
            }

            if (nanoseconds is ulong ns && BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(8)) != ns)
            {
                changed.Add(string.Format(CultureInfo.InvariantCulture, "Nanoseconds {0} -> {1}", BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(8)), ns));
                BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), ns);
            }

            if (incarnation is uint inc)
            {
                Set32(body, 16, inc, "Incarnation", changed);
            }

            return body.AsSpan().SequenceEqual(before)
                ? null
                : new XenEditedRecord(record, XenEditedRecord.Framed(code, body, bigEndian: false), "TSC info " + string.Join(", ", changed));
        }

        // The body of a framed record the decoder consumed (its payload is not kept): reread from the file.
        private static byte[] FramedBody(XenStreamRecord record, string what)
        {
            if (record.Length > Limits.MaxRecordLength)
            {
                throw new XenFormatException(XenErrorIds.RecordTooLarge, string.Format(CultureInfo.InvariantCulture, "The {0} record at offset {1} is {2} bytes; at most {3} are edited.", what, record.Offset, record.Length, Limits.MaxRecordLength), record.Offset);
            }

            using System.IO.FileStream file = FileIO.XenFile.OpenForRereading(record.FilePath, record.Offset + 8 + record.Length)
                ?? throw new InvalidOperationException("The " + what + " record has no regular file to reread it from: edit records of a file, not of a pipe.");
            file.Position = record.Offset + 8;
            var body = new byte[record.Length];
            if (ForwardReadStream.ReadFully(file, body, 0, body.Length) != body.Length)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "The file ends inside the {0} record at offset {1}: it changed since it was read.", what, record.Offset), record.Offset);
            }

            return body;
        }

        private static void Set32(byte[] body, int at, uint value, string name, List<string> changed)
        {
            uint old = BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(at));
            if (old != value)
            {
                changed.Add(string.Format(CultureInfo.InvariantCulture, "{0} {1} -> {2}", name, old, value));
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(at), value);
            }
        }

        private static byte[] Pair(ulong index, ulong value)
        {
            var b = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(b, index);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), value);
            return b;
        }

        private static XenFormatException Short(XenStreamRecord record) =>
            new XenFormatException(XenErrorIds.InvalidRecord, string.Format(CultureInfo.InvariantCulture, "The {0} record at offset {1} is shorter than its fields; it cannot be edited.", record.Type, record.Offset), record.Offset);

        /// <summary>The xl header with a new domain configuration (JSON, or xl text), its lengths recomputed.</summary>
        public static XenEditedRecord XlConfig(XlHeaderRecord header, string config)
        {
            if (config is null)
            {
                throw new ArgumentNullException(nameof(config));
            }

            bool json = config.TrimStart().StartsWith("{", StringComparison.Ordinal);
            uint flags = (uint)header.MandatoryFlags;
            flags = json ? flags | (uint)XlMandatoryFlags.Json : flags & ~(uint)XlMandatoryFlags.Json;
            byte[] bytes = XlFormat.Encode(flags, System.Text.Encoding.UTF8.GetBytes(config + "\0"), header.ByteOrder == ByteOrder.BigEndian, header.OptionalFlags);
            return new XenEditedRecord(header, bytes, string.Format(CultureInfo.InvariantCulture, "config replaced ({0} bytes of {1})", config.Length, json ? "JSON" : "xl text"));
        }
    }
}
