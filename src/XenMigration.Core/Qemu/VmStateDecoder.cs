using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using XenMigration.Framing;

namespace XenMigration.Qemu
{
    /// <summary>
    /// Decodes a VMState body (docs/formats §8.7) with a description: fields in order, each the size the
    /// description gives, then the subsections the stream carries (0x05, name, version, body), each
    /// looked up by name in the description, then in the built-in table. Works on a span, so a
    /// description that does not fit the bytes can only fail, never read outside them.
    /// </summary>
    internal static class VmStateDecoder
    {
        /// <summary>
        /// Why a decode stopped: the layout does not fit the bytes. Callers that try layouts catch it
        /// and try the next; one that escapes is a format error like any other.
        /// </summary>
        internal sealed class Failure : XenFormatException
        {
            public Failure(string message, int position, bool outOfBytes = false)
                : base(XenErrorIds.InvalidRecord, message, position)
            {
                Position = position;
                OutOfBytes = outOfBytes;
            }

            public int Position { get; }

            /// <summary>The layout asked for more bytes than there were.</summary>
            public bool OutOfBytes { get; }
        }

        /// <summary>
        /// Decodes <paramref name="desc"/> from the start of <paramref name="body"/>. Returns the state
        /// and, in <paramref name="consumed"/>, the bytes it took (fields and subsections). With
        /// <paramref name="strictSizes"/> (a description from the stream itself) struct sizes must match.
        /// </summary>
        /// <exception cref="Failure">The bytes end early, or a subsection is not known.</exception>
        public static QemuVmState Decode(ReadOnlySpan<byte> body, long baseOffset, VmsdDescription desc, bool strictSizes, out int consumed, CancellationToken cancel = default)
        {
            int pos = 0;
            var budget = new Budget(body.Length, cancel);
            QemuVmState state = DecodeState(body, ref pos, baseOffset, desc, desc.Name, desc.Version, 0, 0, strictSizes, budget);
            consumed = pos;
            return state;
        }

        /// <summary>Arrays longer than this are kept as one field holding their bytes, not one field per element.</summary>
        internal const int MaxExpandedArray = 65536;

        /// <summary>
        /// What one section's decode may cost: fields materialized one by one are at most the body's
        /// bytes plus a margin (every such field but a zero-size one consumes a byte), so a
        /// description cannot make a small body cost more than a small multiple of itself; and the
        /// walk checks for cancellation as it goes.
        /// </summary>
        private sealed class Budget
        {
            private readonly CancellationToken _cancel;
            private long _left;

            public Budget(int bodyLength, CancellationToken cancel)
            {
                _left = (long)bodyLength + 4096;
                _cancel = cancel;
            }

            public void Take(int fields, int pos)
            {
                _left -= fields;
                if (_left < 0)
                {
                    throw new Failure("the description asks for more fields than the section's bytes can hold", pos);
                }

                if ((_left & 0xFFF) == 0)
                {
                    _cancel.ThrowIfCancellationRequested();
                }
            }
        }

        private static QemuVmState DecodeState(ReadOnlySpan<byte> body, ref int pos, long baseOffset, VmsdDescription desc, string name, int version, int depth, int stateStart, bool strict, Budget budget)
        {
            if (depth > Limits.MaxVmStateDepth)
            {
                throw new Failure("structs nested deeper than 64", pos);
            }

            var fields = new List<QemuField>(Math.Min(desc.Fields.Count, 1024));
            foreach (VmsdField field in desc.Fields)
            {
                if (field.ArrayLength > 1 && field.Struct is null && (field.Size == 0 || field.ArrayLength > MaxExpandedArray))
                {
                    // Zero-size elements cost nothing on the wire and must not cost anything here;
                    // a long scalar array is one field holding its bytes.
                    fields.Add(CollapsedArray(body, ref pos, baseOffset, field));
                    budget.Take(1, pos);
                    continue;
                }

                if (field.Struct is null && (long)field.Size * field.ArrayLength > body.Length - pos)
                {
                    throw new Failure(string.Format(CultureInfo.InvariantCulture, "field '{0}' needs {1} elements of {2} bytes, {3} bytes remain", field.Name, field.ArrayLength, field.Size, body.Length - pos), pos, outOfBytes: true);
                }

                for (int i = 0; i < field.ArrayLength; i++)
                {
                    int? index = field.ArrayLength > 1 ? i : field.Index;
                    int before = pos;
                    fields.Add(DecodeField(body, ref pos, baseOffset, field, index, depth, strict, budget));
                    budget.Take(1, pos);
                    if (pos == before && field.ArrayLength > 1)
                    {
                        // A struct element that took no bytes: the rest would repeat it for nothing.
                        fields.Add(new QemuField(field.Name, field.Type, baseOffset + pos, 0, null, null, string.Format(CultureInfo.InvariantCulture, "{0} more empty elements", field.ArrayLength - i - 1), null));
                        break;
                    }
                }
            }

            var subsections = new List<QemuVmState>();
            while (pos < body.Length && body[pos] == QemuFormat.Subsection)
            {
                int start = pos;
                if (pos + 2 > body.Length || pos + 2 + body[pos + 1] + 4 > body.Length)
                {
                    break;
                }

                int nameLength = body[pos + 1];
                ReadOnlySpan<byte> rawName = body.Slice(pos + 2, nameLength);
                string subName = Encoding.ASCII.GetString(rawName.ToArray());

                // As QEMU's loader: a 0x05 whose name does not start with the parent's name is not ours.
                if (!QemuFormat.IsPrintableName(rawName) || !subName.StartsWith(desc.Name, StringComparison.Ordinal))
                {
                    break;
                }

                int subVersion = unchecked((int)BinaryPrimitives.ReadUInt32BigEndian(body.Slice(pos + 2 + nameLength, 4)));
                VmsdDescription? subDesc = FindSubsection(desc, subName) ?? VmsdBuiltIn.FindSubsection(subName);
                if (subDesc is null)
                {
                    throw new Failure("subsection '" + subName + "' is in neither the description nor the built-in table", pos);
                }

                pos += 2 + nameLength + 4;
                QemuVmState sub = DecodeState(body, ref pos, baseOffset, subDesc, subName, subVersion, depth + 1, start, strict, budget);
                subsections.Add(sub);
                budget.Take(1, pos);
            }

            return new QemuVmState(name, version, baseOffset + stateStart, pos - stateStart, fields, subsections);
        }

        // One field for a whole scalar array: its bytes, not one object per element.
        private static QemuField CollapsedArray(ReadOnlySpan<byte> body, ref int pos, long baseOffset, VmsdField field)
        {
            long bytes = (long)field.Size * field.ArrayLength;
            if (bytes > body.Length - pos)
            {
                throw new Failure(string.Format(CultureInfo.InvariantCulture, "field '{0}' needs {1} elements of {2} bytes, {3} bytes remain", field.Name, field.ArrayLength, field.Size, body.Length - pos), pos);
            }

            int start = pos;
            var raw = new ReadOnlyBytes(body.Slice(pos, (int)bytes).ToArray());
            pos += (int)bytes;
            string text = string.Format(CultureInfo.InvariantCulture, "{0} elements of {1} bytes{2}", field.ArrayLength, field.Size, bytes == 0 ? string.Empty : ": " + HexBytes(body.Slice(start, (int)Math.Min(bytes, 16))) + (bytes > 16 ? " ..." : string.Empty));
            return new QemuField(field.Name, field.Type, baseOffset + start, field.Size, null, raw, text, null);
        }

        private static VmsdDescription? FindSubsection(VmsdDescription desc, string name)
        {
            foreach (VmsdDescription sub in desc.Subsections)
            {
                if (sub.Name == name)
                {
                    return sub;
                }
            }

            return null;
        }

        private static QemuField DecodeField(ReadOnlySpan<byte> body, ref int pos, long baseOffset, VmsdField field, int? index, int depth, bool strict, Budget budget)
        {
            int start = pos;
            if (field.Struct is VmsdDescription nested)
            {
                QemuVmState nestedState = DecodeState(body, ref pos, baseOffset, nested, nested.Name, nested.Version, depth + 1, start, strict, budget);

                // A struct's size counts the subsections this stream sent; a built-in description's may differ.
                if (strict && field.Size > 0 && pos - start != field.Size)
                {
                    throw new Failure(string.Format(CultureInfo.InvariantCulture, "struct field '{0}' took {1} bytes, its description says {2}", field.Name, pos - start, field.Size), start);
                }

                // A tmp field is a view QEMU builds for saving; the analyzer shows its bytes.
                string structText = field.Type == "struct" ? nested.Name : HexBytes(body.Slice(start, pos - start));
                return new QemuField(field.Name, field.Type, baseOffset + start, pos - start, index, null, structText, nestedState);
            }

            if (field.Size > body.Length - pos)
            {
                throw new Failure(string.Format(CultureInfo.InvariantCulture, "field '{0}' needs {1} bytes, {2} remain", field.Name, field.Size, body.Length - pos), pos, outOfBytes: true);
            }

            ReadOnlySpan<byte> bytes = body.Slice(pos, field.Size);
            pos += field.Size;
            (object? value, string text) = Scalar(field.Type, bytes);
            return new QemuField(field.Name, field.Type, baseOffset + start, field.Size, index, value, text, null);
        }

        /// <summary>A field's value and its analyze-migration.py text, by QEMU type name.</summary>
        internal static (object? Value, string Text) Scalar(string type, ReadOnlySpan<byte> bytes)
        {
            bool integer = bytes.Length is 1 or 2 or 4 or 8;
            switch (type)
            {
                case "bool":
                    if (bytes.Length == 1)
                    {
                        bool b = bytes[0] != 0;
                        return (b, b ? "True" : "False");
                    }

                    break;
                case "uint8" or "uint16" or "uint32" or "uint64" or "uint32 equal" when integer:
                {
                    ulong u = ReadBig(bytes);
                    return (u, Hex(u, bytes.Length));
                }

                case "int8" or "int16" or "int32" or "int64" or "int32 equal" or "int64 equal" or "uint8 equal" or "uint16 equal" when integer:
                {
                    ulong u = ReadBig(bytes);
                    long s = SignExtend(u, bytes.Length);
                    return (s, s < 0 ? Hex(u, bytes.Length) + " (" + s.ToString(CultureInfo.InvariantCulture) + ")" : Hex(u, bytes.Length));
                }

                case "int32 le" when bytes.Length == 4:
                {
                    // The analyzer reads "le" fields big-endian too (its dtype is unused); the value
                    // here is the real little-endian one, the text the analyzer's.
                    int le = BinaryPrimitives.ReadInt32LittleEndian(bytes);
                    ulong u = ReadBig(bytes);
                    long s = SignExtend(u, 4);
                    return ((long)le, s < 0 ? Hex(u, 4) + " (" + s.ToString(CultureInfo.InvariantCulture) + ")" : Hex(u, 4));
                }

                case "timer" when bytes.Length == 8:
                {
                    // Expiry time in ns; -1 = not armed. The analyzer prints timers as bytes.
                    long t = BinaryPrimitives.ReadInt64BigEndian(bytes);
                    return (t, HexBytes(bytes));
                }
            }

            string hex = HexBytes(bytes);
            return (hex, hex);
        }

        private static ulong ReadBig(ReadOnlySpan<byte> bytes)
        {
            ulong u = 0;
            foreach (byte b in bytes)
            {
                u = (u << 8) | b;
            }

            return u;
        }

        private static long SignExtend(ulong u, int size)
        {
            int shift = 64 - (size * 8);
            return unchecked(shift == 0 ? (long)u : ((long)(u << shift)) >> shift);
        }

        private static string Hex(ulong u, int size) => "0x" + u.ToString("x" + (size * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        internal static string HexBytes(ReadOnlySpan<byte> bytes)
        {
            var sb = new StringBuilder(bytes.Length * 3);
            for (int i = 0; i < bytes.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(bytes[i].ToString("x2", CultureInfo.InvariantCulture));
            }

            return sb.ToString();
        }
    }
}
