using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.XenServer
{
    /// <summary>
    /// A XenServer/XCP-ng suspend image as a container (docs/formats/containers.md §10): the signature,
    /// then records of a little-endian u64 type and u64 length. Xenops, QEMU, vGPU, UEFI and TPM
    /// records carry their length in payload (left unread); a Libxc or Libxl record is followed by
    /// its Xen stream, after whose END the records go on; End_of_image ends the image. The classic
    /// "XenSavedDomain" image holds a legacy stream, which must be converted first.
    /// </summary>
    internal sealed class XenServerContainer : IContainerDecoder
    {
        private bool _started;
        private bool _ended;
        private bool _streamNext;

        public XenStreamRecord? ReadNext(IRecordDecoding d, out bool embeddedFollows)
        {
            embeddedFollows = false;
            StreamSource source = d.Source;
            long offset = source.Position;
            if (!_started)
            {
                _started = true;
                if (!source.TryRead(XenServerFormat.SignatureLength, out ReadOnlySpan<byte> sig))
                {
                    throw d.HeaderTruncated(nameof(XenRecordType.XenServerSignature), offset);
                }

                bool structured = Encoding.ASCII.GetString(sig.ToArray()) == XenServerFormat.Signature;
                var record = new XenServerSignatureRecord(d.Header(offset, XenLayer.Container, XenRecordType.XenServerSignature, XenServerFormat.SignatureLength), structured);
                if (!structured)
                {
                    // A legacy libxc stream follows the classic signature: nothing more is read here.
                    _ended = true;
                    _legacyFollows = true;
                }

                return record;
            }

            if (_legacyFollows)
            {
                _legacyFollows = false;
                throw new XenUnsupportedFormatException(DetectedFormat.LegacyLibxc, string.Format(CultureInfo.InvariantCulture, "The classic XenServer suspend image holds a legacy (Xen 4.5 and older) stream at offset {0}, which must be converted to a v2 stream before it can be read.", offset), offset);
            }

            if (_streamNext)
            {
                _streamNext = false;
                embeddedFollows = true;
                return null;
            }

            if (_ended)
            {
                return null;
            }

            const string Name = nameof(XenRecordType.XenServerSection);
            if (!source.TryRead(XenServerFormat.HeaderSize, out ReadOnlySpan<byte> h))
            {
                if (source.Peek(1).Length == 0)
                {
                    throw d.HeaderError(XenErrorIds.UnexpectedEndOfStream, Name, offset, "the image ends without an End_of_image record");
                }

                throw d.HeaderTruncated(Name, offset);
            }

            ulong type = BinaryPrimitives.ReadUInt64LittleEndian(h);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(8));
            if (!XenServerFormat.IsKnown(type))
            {
                throw d.HeaderError(XenErrorIds.InvalidHeader, Name, offset, string.Format(CultureInfo.InvariantCulture, "record type 0x{0:x} is not one xenopsd writes (suspend_image.ml: header_type_of_int64 fails on it)", type));
            }

            var kind = (XenServerRecordKind)type;
            switch (kind)
            {
                case XenServerRecordKind.Libxc:
                case XenServerRecordKind.Libxl:
                    _streamNext = true;
                    return new XenServerRecord(d.Header(offset, XenLayer.Container, XenRecordType.XenServerSection, XenServerFormat.HeaderSize), kind, length);
                case XenServerRecordKind.LibxcLegacy:
                    _legacyFollows = true;
                    return new XenServerRecord(d.Header(offset, XenLayer.Container, XenRecordType.XenServerSection, XenServerFormat.HeaderSize), kind, length);
                case XenServerRecordKind.EndOfImage:
                    _ended = true;
                    return new XenServerRecord(d.Header(offset, XenLayer.Container, XenRecordType.XenServerSection, XenServerFormat.HeaderSize), kind, length);
                case XenServerRecordKind.Xenops:
                    return ReadXenops(d, offset, length);
                default:
                    if (length > (ulong)d.Frames.MaxLength)
                    {
                        throw d.HeaderError(XenErrorIds.RecordTooLarge, Name, offset, string.Format(CultureInfo.InvariantCulture, "the {0} record declares {1} bytes, more than the {2}-byte limit", kind, length, d.Frames.MaxLength));
                    }

                    d.RequireRemaining((long)length, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of {1} state", length, kind));
                    return new XenServerRecord(d.Unframed(offset, XenLayer.Container, XenRecordType.XenServerSection, (uint)type, XenServerFormat.HeaderSize, (long)length), kind, length);
            }
        }

        private bool _legacyFollows;

        private static XenopsRecord ReadXenops(IRecordDecoding d, long offset, ulong length)
        {
            const string Name = nameof(XenRecordType.XenServerSection);
            if (length > (ulong)XenServerFormat.MaxXenopsRecord)
            {
                throw d.HeaderError(XenErrorIds.RecordTooLarge, Name, offset, string.Format(CultureInfo.InvariantCulture, "the Xenops record declares {0} bytes (at most {1} are read)", length, XenServerFormat.MaxXenopsRecord));
            }

            d.RequireRemaining((long)length, Name, offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes of the Xenops record", length));
            byte[] body = length == 0 ? Array.Empty<byte>() : d.Source.ReadArray((int)length) ?? throw d.HeaderTruncated(Name, offset);
            string text = Encoding.UTF8.GetString(body);
            var record = new XenopsRecord(d.Header(offset, XenLayer.Container, XenRecordType.XenServerSection, XenServerFormat.HeaderSize + (long)length), length, text);
            XenopsText.Fill(record);
            return record;
        }
    }

    /// <summary>
    /// Reads xenopsd's Xenops record: an OCaml S-expression ((time T)(word_size N)(vm_str "json")
    /// (xs_subtree (...))), whose vm_str is the VM record as JSON. What cannot be read is left null.
    /// </summary>
    internal static class XenopsText
    {
        public static void Fill(XenopsRecord r)
        {
            object? root;
            try
            {
                root = SExpression.Parse(r.Text);
            }
            catch (FormatException)
            {
                return;
            }

            if (root is not List<object> fields)
            {
                return;
            }

            foreach (object field in fields)
            {
                if (field is List<object> { Count: >= 2 } pair && pair[0] is string key && pair[1] is string value)
                {
                    switch (key)
                    {
                        case "time":
                            r.Time = value;
                            break;
                        case "word_size":
                            r.WordSize = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) ? w : null;
                            break;
                        case "vm_str":
                            r.VmRecord = value;
                            ReadVm(r, value);
                            break;
                    }
                }
            }
        }

        private static void ReadVm(XenopsRecord r, string json)
        {
            if (JsonText.Parse(json) is not JsonObject vm)
            {
                return;
            }

            r.VmUuid = Str(vm, "id");
            r.VmName = Str(vm, "name");
            r.MemoryStaticMax = Num(vm, "memory_static_max");
            r.MemoryDynamicMax = Num(vm, "memory_dynamic_max");
            r.MemoryDynamicMin = Num(vm, "memory_dynamic_min");
            r.VcpuMax = Num(vm, "vcpu_max") is long m ? (int)Math.Min(m, int.MaxValue) : null;
            r.Vcpus = Num(vm, "vcpus") is long v ? (int)Math.Min(v, int.MaxValue) : null;
            if (vm.TryGetValue("ty", out object? ty))
            {
                r.VmType = ty switch
                {
                    List<object?> { Count: > 0 } l when l[0] is string s => s,
                    JsonObject o => First(o),
                    string s => s,
                    _ => null,
                };
            }
        }

        private static string? First(JsonObject o)
        {
            foreach (var m in o.Members)
            {
                return m.Key;
            }

            return null;
        }

        private static string? Str(JsonObject o, string key) => o.TryGetValue(key, out object? v) && v is string s ? s : null;

        private static long? Num(JsonObject o, string key) => o.TryGetValue(key, out object? v) ? v switch
        {
            long l => l,
            string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) => n,
            _ => null,
        } : null;
    }
}
