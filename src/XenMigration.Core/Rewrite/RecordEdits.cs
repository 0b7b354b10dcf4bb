using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.HvmContext;
using XenMigration.Images;
using XenMigration.Qemu;
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

        /// <summary>
        /// The EMULATOR_CONTEXT (or XenServer Qemu) record with one integer or bool field of QEMU's
        /// device state overwritten in place: same size, so no length changes; every other byte is
        /// the record's own. Null when the value is already that.
        /// </summary>
        /// <exception cref="ArgumentException">No such section or field, several fields match, or the value does not fit.</exception>
        /// <exception cref="NotSupportedException">The field is not a fixed-size integer or bool (buffers, structs, collapsed arrays).</exception>
        public static XenEditedRecord? QemuField(XenStreamRecord record, string section, uint? instance, string field, int? index, ulong value)
        {
            var matches = new List<QemuField>();
            var sections = new List<string>();
            using (QemuImage image = QemuImage.OpenXenPayload(record))
            {
                while (image.Reader.ReadNext() is QemuRecord r)
                {
                    if (r is QemuSection s && s.State is QemuVmState state)
                    {
                        sections.Add(s.IdStr + "[" + s.InstanceId.ToString(CultureInfo.InvariantCulture) + "]");
                        if (string.Equals(s.IdStr, section, StringComparison.Ordinal) && (instance is null || s.InstanceId == instance))
                        {
                            Collect(state, field, index, matches);
                        }
                    }
                }
            }

            if (matches.Count == 0)
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "No field '{0}'{1} in section '{2}' of the device state at offset {3}; its sections: {4}.", field, index is int i ? "[" + i.ToString(CultureInfo.InvariantCulture) + "]" : string.Empty, section, record.Offset, string.Join(", ", sections)));
            }

            if (matches.Count > 1)
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "{0} fields named '{1}' in section '{2}' (array elements, subsections or instances): give the element's index or the instance.", matches.Count, field, section));
            }

            QemuField f = matches[0];
            if (f.Struct is not null || !(f.Value is ulong || f.Value is long || f.Value is bool) || f.Size is not (1 or 2 or 4 or 8))
            {
                throw new NotSupportedException(string.Format(CultureInfo.InvariantCulture, "Field '{0}' is of type {1}: only fixed-size integer and bool fields are written back.", f.Name, f.Type));
            }

            if (f.Size < 8 && value >> (8 * f.Size) != 0 && !(f.Value is long && unchecked((long)value) < 0 && unchecked((long)value) >= -(1L << ((8 * f.Size) - 1))))
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "0x{0:x} does not fit field '{1}' ({2} bytes).", value, f.Name, f.Size));
            }

            long span = StreamRewriter.Span(record);
            byte[] bytes = Reread(record, record.Offset, span, "device state");

            long at = f.Offset - record.Offset;
            if (at < 0 || at + f.Size > span)
            {
                throw new InvalidOperationException("The field lies outside its record.");
            }

            Span<byte> target = bytes.AsSpan((int)at, f.Size);
            bool little = f.Type.EndsWith(" le", StringComparison.Ordinal);
            ulong old = 0;
            for (int b = 0; b < f.Size; b++)
            {
                old |= (ulong)target[little ? b : f.Size - 1 - b] << (8 * b);
            }

            ulong mask = f.Size == 8 ? ulong.MaxValue : (1UL << (8 * f.Size)) - 1;
            if (old == (value & mask))
            {
                return null;
            }

            for (int b = 0; b < f.Size; b++)
            {
                target[little ? b : f.Size - 1 - b] = unchecked((byte)(value >> (8 * b)));
            }

            return new XenEditedRecord(record, bytes, string.Format(CultureInfo.InvariantCulture, "QEMU {0} {1}{2} 0x{3:x} -> 0x{4:x}", section, f.Name, f.Index is int n ? "[" + n.ToString(CultureInfo.InvariantCulture) + "]" : string.Empty, old, value & mask));
        }

        private static void Collect(QemuVmState state, string field, int? index, List<QemuField> into)
        {
            foreach (QemuField f in state.Fields)
            {
                if (string.Equals(f.Name, field, StringComparison.Ordinal) && (index is null || f.Index == index))
                {
                    into.Add(f);
                }

                if (f.Struct is QemuVmState inner)
                {
                    Collect(inner, field, index, into);
                }
            }

            foreach (QemuVmState sub in state.Subsections)
            {
                Collect(sub, field, index, into);
            }
        }

        // The body of a framed record the decoder consumed (its payload is not kept).
        private static byte[] FramedBody(XenStreamRecord record, string what) => Reread(record, record.Offset + 8, record.Length, what);

        // Bytes of a record read again from its file: edits start from the bytes as they are on disk.
        private static byte[] Reread(XenStreamRecord record, long at, long length, string what)
        {
            if (length > Limits.MaxRecordLength + 16L)
            {
                throw new XenFormatException(XenErrorIds.RecordTooLarge, string.Format(CultureInfo.InvariantCulture, "The {0} record at offset {1} is {2} bytes; at most {3} are edited.", what, record.Offset, length, Limits.MaxRecordLength), record.Offset);
            }

            using System.IO.FileStream file = FileIO.XenFile.OpenForRereading(record.FilePath, at + length)
                ?? throw new InvalidOperationException("The " + what + " record has no regular file to reread it from: edit records of a file, not of a pipe.");
            file.Position = at;
            var bytes = new byte[length];
            if (ForwardReadStream.ReadFully(file, bytes, 0, bytes.Length) != bytes.Length)
            {
                throw new XenTruncatedException(string.Format(CultureInfo.InvariantCulture, "The file ends inside the {0} record at offset {1}: it changed since it was read.", what, record.Offset), record.Offset);
            }

            return bytes;
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
