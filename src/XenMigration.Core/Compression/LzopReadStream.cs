using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using XenMigration.Framing;

namespace XenMigration.Compression
{
    /// <summary>
    /// The output of an lzop file (docs/formats/qemu.md §8.11.1), block by block: no managed lzop
    /// library is served, and the format is small (a header, then blocks of at most 64 MiB, each
    /// LZO1X-compressed or stored, with Adler-32 or CRC-32 checksums of both sides). Every field is
    /// checked as lzop 1.04 checks it; the block buffers are the only memory held.
    /// </summary>
    internal sealed class LzopReadStream : ForwardReadStream
    {
        /// <summary>lzop's MAX_BLOCK_SIZE: a block never decompresses to more.</summary>
        internal const int MaxBlock = 64 << 20;

        private static readonly byte[] s_magic = { 0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A };

        private const uint AdlerData = 0x1, AdlerCompressed = 0x2, ExtraField = 0x40, CrcData = 0x100, CrcCompressed = 0x200, Multipart = 0x400, Filter = 0x800, HeaderCrc = 0x1000, KnownFlags = 0x3FFF;

        private readonly Stream _inner;
        private readonly bool _leaveOpen;
        private readonly byte[] _word = new byte[4];
        private uint _flags;
        private byte[] _block = Array.Empty<byte>();
        private byte[] _compressed = Array.Empty<byte>();
        private int _blockLength;
        private int _blockPos;
        private long _position;   // decompressed bytes handed out
        private long _consumed;   // compressed bytes read
        private bool _header;
        private bool _ended;

        public LzopReadStream(Stream compressed, bool leaveOpen)
        {
            _inner = compressed;
            _leaveOpen = leaveOpen;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_header)
            {
                ReadHeader();
                _header = true;
            }

            int done = 0;
            while (done < count)
            {
                if (_blockPos == _blockLength)
                {
                    if (_ended || !NextBlock())
                    {
                        break;
                    }
                }

                int n = Math.Min(count - done, _blockLength - _blockPos);
                Buffer.BlockCopy(_block, _blockPos, buffer, offset + done, n);
                _blockPos += n;
                done += n;
            }

            _position += done;
            return done;
        }

        private void ReadHeader()
        {
            byte[] magic = Fixed(9, "its magic");
            if (!magic.AsSpan().SequenceEqual(s_magic))
            {
                throw Corrupt("it does not start with lzop's magic 89 4c 5a 4f 00 0d 0a 1a 0a");
            }

            // The header checksum covers everything from the version to the name.
            var header = new MemoryStream();
            ushort version = U16(header, "the version");
            U16(header, "the library version");
            if (version >= 0x0940)
            {
                ushort needed = U16(header, "the version needed to extract");
                if (needed > 0x1040)
                {
                    throw Corrupt(string.Format(CultureInfo.InvariantCulture, "it needs lzop version 0x{0:x4} to extract (this reader knows 0x1040)", needed));
                }
            }

            byte method = U8(header, "the method");
            if (method is not (1 or 2 or 3))
            {
                throw Corrupt(string.Format(CultureInfo.InvariantCulture, "method {0} is not one of LZO1X-1 (1), LZO1X-1(15) (2) or LZO1X-999 (3)", method));
            }

            if (version >= 0x0940)
            {
                U8(header, "the level");
            }

            _flags = U32(header, "the flags");
            if ((_flags & ~0xFFF00000u & ~KnownFlags) != 0 || (_flags & (Multipart | Filter)) != 0)
            {
                throw Corrupt(string.Format(CultureInfo.InvariantCulture, "flags 0x{0:x8} ask for what lzop itself refuses or this reader does not do (multipart, filters)", _flags));
            }

            U32(header, "the mode");
            U32(header, "the time");
            if (version >= 0x0940)
            {
                U32(header, "the time's high half");
            }

            byte nameLength = U8(header, "the name length");
            byte[] name = Fixed(nameLength, "the name");
            header.Write(name, 0, name.Length);
            uint stored = Be32("the header checksum");
            byte[] covered = header.ToArray();
            uint actual = (_flags & HeaderCrc) != 0 ? Checksums.Crc32(0, covered) : Checksums.Adler32(covered);
            if (stored != actual)
            {
                throw Corrupt(string.Format(CultureInfo.InvariantCulture, "its header checksum 0x{0:x8} does not match the header (0x{1:x8})", stored, actual));
            }

            if ((_flags & ExtraField) != 0)
            {
                uint extra = Be32("the extra field's length");
                if (extra > 1 << 16)
                {
                    throw Corrupt("its extra field is over 64 KiB");
                }

                Fixed((int)extra + 4, "the extra field");
            }
        }

        private bool NextBlock()
        {
            uint dst = Be32("a block's length");
            if (dst == 0)
            {
                _ended = true;
                return false;
            }

            uint src = Be32("a block's compressed length");
            if (dst > MaxBlock || src > dst)
            {
                throw Corrupt(string.Format(CultureInfo.InvariantCulture, "a block declares {0} bytes from {1} compressed bytes (at most {2}, never more compressed than plain)", dst, src, MaxBlock));
            }

            uint? adlerD = (_flags & AdlerData) != 0 ? Be32("a block's checksum") : null;
            uint? crcD = (_flags & CrcData) != 0 ? Be32("a block's checksum") : null;
            uint? adlerC = src < dst && (_flags & AdlerCompressed) != 0 ? Be32("a block's compressed checksum") : null;
            uint? crcC = src < dst && (_flags & CrcCompressed) != 0 ? Be32("a block's compressed checksum") : null;

            // Buffers grow with the bytes that really arrive, and a block is only as large as its
            // compressed bytes can expand (LZO1X writes at most 255 bytes per input byte): a header
            // that declares 64 MiB over a few bytes of input allocates nothing of the kind.
            if (src == dst)
            {
                ReadGrowing(ref _block, (int)dst, "a stored block");
            }
            else
            {
                ReadGrowing(ref _compressed, (int)src, "a compressed block");
                if (dst > (256L * src) + 256)
                {
                    throw Corrupt(string.Format(CultureInfo.InvariantCulture, "a block declares {0} bytes from {1} compressed bytes, more than LZO1X can expand them to", dst, src));
                }

                if (_block.Length < dst)
                {
                    _block = new byte[dst];
                }

                ReadOnlySpan<byte> c = _compressed.AsSpan(0, (int)src);
                if ((adlerC is uint ac && ac != Checksums.Adler32(c)) || (crcC is uint cc && cc != Checksums.Crc32(0, c)))
                {
                    throw Corrupt("a block's compressed bytes do not match their checksum");
                }

                int n = Lzo1x.Decompress(c, _block.AsSpan(0, (int)dst), out string? error);
                if (error is not null || n != dst)
                {
                    throw Corrupt(error ?? string.Format(CultureInfo.InvariantCulture, "a block decompressed to {0} bytes, not the {1} it declares", n, dst));
                }
            }

            ReadOnlySpan<byte> d = _block.AsSpan(0, (int)dst);
            if ((adlerD is uint ad && ad != Checksums.Adler32(d)) || (crcD is uint cd && cd != Checksums.Crc32(0, d)))
            {
                throw Corrupt("a block's bytes do not match their checksum");
            }

            _blockLength = (int)dst;
            _blockPos = 0;
            return true;
        }

        private byte U8(MemoryStream header, string what)
        {
            byte[] b = Fixed(1, what);
            header.Write(b, 0, 1);
            return b[0];
        }

        private ushort U16(MemoryStream header, string what)
        {
            byte[] b = Fixed(2, what);
            header.Write(b, 0, 2);
            return BinaryPrimitives.ReadUInt16BigEndian(b);
        }

        private uint U32(MemoryStream header, string what)
        {
            byte[] b = Fixed(4, what);
            header.Write(b, 0, 4);
            return BinaryPrimitives.ReadUInt32BigEndian(b);
        }

        // A big-endian u32 of the input, read into one scratch word (block headers come every 256 KiB).
        private uint Be32(string what)
        {
            ReadInto(_word, 4, what);
            return BinaryPrimitives.ReadUInt32BigEndian(_word);
        }

        private byte[] Fixed(int length, string what)
        {
            var b = new byte[length];
            ReadInto(b, length, what);
            return b;
        }

        // Reads length bytes into buffer, growing it (by doubling from 1 MiB) only as bytes arrive.
        private void ReadGrowing(ref byte[] buffer, int length, string what)
        {
            int done = 0;
            while (done < length)
            {
                if (buffer.Length < Math.Min(length, Math.Max(done * 2, 1 << 20)))
                {
                    Array.Resize(ref buffer, Math.Min(length, Math.Max(done * 2, 1 << 20)));
                }

                int want = Math.Min(length, buffer.Length) - done;
                int n = ReadFully(_inner, buffer, done, want);
                _consumed += n;
                done += n;
                if (n < want)
                {
                    throw Corrupt("it ends inside " + what);
                }
            }
        }

        private void ReadInto(byte[] buffer, int length, string what)
        {
            int n = ReadFully(_inner, buffer, 0, length);
            _consumed += n;
            if (n != length)
            {
                throw Corrupt("it ends inside " + what);
            }
        }

        private XenFormatException Corrupt(string what) =>
            new XenFormatException(XenErrorIds.CorruptCompressedData, string.Format(CultureInfo.InvariantCulture, "The lzop-compressed data is invalid after {0} decompressed bytes ({1} compressed bytes read): {2}.", _position + _blockPos, _consumed, what), _position);

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_leaveOpen)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// LZO1X decompression with every read and write bounds-checked (the "safe" decompressor of
    /// the LZO library: lzo1x_decompress_safe). The instruction set: a first byte above 17 is a
    /// literal run; then, by the top bits of each instruction byte, literal runs (0-15), M1 (0-15
    /// after a match, 2 or 3 bytes within 3 KiB), M2 (64-255, 3-8 bytes within 2 KiB), M3 (32-63,
    /// within 16 KiB), M4 (16-31, 16 KiB to 48 KiB, and the end marker); the low two bits of a
    /// match's last offset byte say how many literals (0-3) follow it.
    /// </summary>
    internal static class Lzo1x
    {
        /// <summary>Decompresses <paramref name="input"/> into <paramref name="output"/>; the bytes written, with <paramref name="error"/> set when the data is invalid.</summary>
        public static int Decompress(ReadOnlySpan<byte> input, Span<byte> output, out string? error)
        {
            int ip = 0, op = 0, t;
            error = null;

            if (input.Length == 0)
            {
                error = "an empty compressed block";
                return 0;
            }

            int state = 0;   // 0: an instruction; 1: after a long literal run (first_literal_run); 2: a match instruction next
            if (input[0] > 17)
            {
                t = input[ip++] - 17;
                if (!CopyLiterals(input, ref ip, output, ref op, t, out error))
                {
                    return op;
                }

                state = t < 4 ? 2 : 1;
            }

            while (true)
            {
                if (state == 2)
                {
                    if (input.Length - ip < 1)
                    {
                        error = "the data ends inside an instruction";
                        return op;
                    }

                    t = input[ip++];
                    goto Match;
                }

                if (state == 0)
                {
                    if (input.Length - ip < 1)
                    {
                        error = "the data ends without the end marker";
                        return op;
                    }

                    t = input[ip++];
                    if (t >= 16)
                    {
                        goto Match;
                    }

                    if (t == 0)
                    {
                        if (!Extended(input, ref ip, 15, ref t, out error))
                        {
                            return op;
                        }
                    }

                    if (!CopyLiterals(input, ref ip, output, ref op, t + 3, out error))
                    {
                        return op;
                    }
                }

                // first_literal_run: after a literal run of four or more, a short instruction is M1 at distance 2049+.
                if (input.Length - ip < 1)
                {
                    error = "the data ends inside an instruction";
                    return op;
                }

                t = input[ip++];
                if (t < 16)
                {
                    if (input.Length - ip < 1)
                    {
                        error = "the data ends inside a match";
                        return op;
                    }

                    int dist = 1 + 0x0800 + (t >> 2) + (input[ip++] << 2);
                    if (!CopyMatch(output, ref op, dist, 3, out error))
                    {
                        return op;
                    }

                    goto MatchDone;
                }

            Match:
                int distance, length;
                if (t >= 64)
                {
                    if (input.Length - ip < 1)
                    {
                        error = "the data ends inside a match";
                        return op;
                    }

                    distance = 1 + ((t >> 2) & 7) + (input[ip++] << 3);
                    length = (t >> 5) + 1;
                }
                else if (t >= 32)
                {
                    t &= 31;
                    if (t == 0 && !Extended(input, ref ip, 31, ref t, out error))
                    {
                        return op;
                    }

                    if (input.Length - ip < 2)
                    {
                        error = "the data ends inside a match";
                        return op;
                    }

                    distance = 1 + (input[ip] >> 2) + (input[ip + 1] << 6);
                    ip += 2;
                    length = t + 2;
                }
                else if (t >= 16)
                {
                    int high = (t & 8) << 11;
                    t &= 7;
                    if (t == 0 && !Extended(input, ref ip, 7, ref t, out error))
                    {
                        return op;
                    }

                    if (input.Length - ip < 2)
                    {
                        error = "the data ends inside a match";
                        return op;
                    }

                    distance = high + (input[ip] >> 2) + (input[ip + 1] << 6);
                    ip += 2;
                    if (distance == 0)
                    {
                        // The end marker (M4 at distance 0): it must be the last bytes.
                        if (t != 1 || ip != input.Length)
                        {
                            error = ip != input.Length ? "bytes follow the end marker" : "a malformed end marker";
                        }

                        return op;
                    }

                    distance += 0x4000;
                    length = t + 2;
                }
                else
                {
                    // M1 after a match: two bytes within 1 KiB.
                    if (input.Length - ip < 1)
                    {
                        error = "the data ends inside a match";
                        return op;
                    }

                    distance = 1 + (t >> 2) + (input[ip++] << 2);
                    length = 2;
                }

                if (!CopyMatch(output, ref op, distance, length, out error))
                {
                    return op;
                }

            MatchDone:
                // Literals after a match: the low two bits of the instruction's last offset byte.
                t = input[ip - 2] & 3;
                if (t == 0)
                {
                    state = 0;
                    continue;
                }

                if (!CopyLiterals(input, ref ip, output, ref op, t, out error))
                {
                    return op;
                }

                state = 2;
            }
        }

        // A length continued in zero bytes (255 each) and a final nonzero byte, plus the base.
        private static bool Extended(ReadOnlySpan<byte> input, ref int ip, int @base, ref int t, out string? error)
        {
            error = null;
            long sum = 0;
            while (ip < input.Length && input[ip] == 0)
            {
                sum += 255;
                ip++;
                if (sum > int.MaxValue / 2)
                {
                    error = "a length beyond any block";
                    return false;
                }
            }

            if (ip >= input.Length)
            {
                error = "the data ends inside a length";
                return false;
            }

            t = (int)(sum + @base + input[ip++]);
            return true;
        }

        private static bool CopyLiterals(ReadOnlySpan<byte> input, ref int ip, Span<byte> output, ref int op, int count, out string? error)
        {
            error = null;
            if (input.Length - ip < count)
            {
                error = "a literal run passes the end of the data";
                return false;
            }

            if (output.Length - op < count)
            {
                error = "a literal run passes the end of the block";
                return false;
            }

            input.Slice(ip, count).CopyTo(output.Slice(op));
            ip += count;
            op += count;
            return true;
        }

        private static bool CopyMatch(Span<byte> output, ref int op, int distance, int length, out string? error)
        {
            error = null;
            if (distance > op)
            {
                error = string.Format(CultureInfo.InvariantCulture, "a match reaches {0} bytes back from byte {1}", distance, op);
                return false;
            }

            if (output.Length - op < length)
            {
                error = "a match passes the end of the block";
                return false;
            }

            // Byte by byte: a match may overlap what it writes (a run).
            int from = op - distance;
            for (int i = 0; i < length; i++)
            {
                output[op + i] = output[from + i];
            }

            op += length;
            return true;
        }
    }
}
