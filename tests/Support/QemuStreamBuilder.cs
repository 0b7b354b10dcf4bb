using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace XenMigration.TestSupport;

/// <summary>
/// Builds QEMU savevm streams (QEVM version 3) record by record, for inputs no real QEMU run
/// produces: hostile descriptions, odd RAM block lists, damaged compressed pages (docs/formats §8).
/// </summary>
public sealed class QemuStreamBuilder
{
    public const ulong MemSize = 0x04, Page = 0x08, Eos = 0x10, Continue = 0x20, CompressPage = 0x100, Zero = 0x02;

    private readonly List<byte> _b = new();
    private uint _nextId = 1;
    private uint? _ramId;

    public QemuStreamBuilder()
    {
        _b.AddRange("QEVM"u8.ToArray());
        Be(3, 4);
    }

    public int Length => _b.Count;

    public QemuStreamBuilder Be(ulong value, int size)
    {
        for (int i = size - 1; i >= 0; i--)
        {
            _b.Add((byte)(value >> (8 * i)));
        }

        return this;
    }

    public QemuStreamBuilder Bytes(ReadOnlySpan<byte> bytes)
    {
        _b.AddRange(bytes.ToArray());
        return this;
    }

    public QemuStreamBuilder Name(string s)
    {
        byte[] n = Encoding.ASCII.GetBytes(s);
        _b.Add(checked((byte)n.Length));
        _b.AddRange(n);
        return this;
    }

    /// <summary>A SECTION_FULL of a device, with the given body.</summary>
    public QemuStreamBuilder Full(string idstr, uint instance, uint version, ReadOnlySpan<byte> body)
    {
        _b.Add(0x04);
        Be(_nextId++, 4).Name(idstr).Be(instance, 4).Be(version, 4).Bytes(body);
        return this;
    }

    /// <summary>The RAM section's SECTION_START: one block-list (MEM_SIZE) record, then EOS.</summary>
    public QemuStreamBuilder RamStart(params (string Name, ulong Length)[] blocks)
    {
        _ramId = _nextId++;
        _b.Add(0x01);
        Be(_ramId.Value, 4).Name("ram").Be(0, 4).Be(4, 4);
        BlockList(blocks);
        return Be(Eos, 8);
    }

    /// <summary>A block-list (MEM_SIZE) record inside the current RAM chunk.</summary>
    public QemuStreamBuilder BlockList(params (string Name, ulong Length)[] blocks)
    {
        ulong total = 0;
        foreach (var (_, length) in blocks)
        {
            total = unchecked(total + length);
        }

        Be((total & ~0xFFFUL) | MemSize, 8);
        foreach (var (name, length) in blocks)
        {
            Name(name).Be(length, 8);
        }

        return this;
    }

    /// <summary>A RAM SECTION_PART (or END) whose records <paramref name="records"/> writes; EOS is added.</summary>
    public QemuStreamBuilder RamChunk(Action<QemuStreamBuilder> records, bool end = false)
    {
        _b.Add(end ? (byte)0x03 : (byte)0x02);
        Be(_ramId ?? throw new InvalidOperationException("RamStart first"), 4);
        records(this);
        return Be(Eos, 8);
    }

    /// <summary>A whole-page record; <paramref name="block"/> null continues the previous block.</summary>
    public QemuStreamBuilder RamPage(string? block, ulong offset, ReadOnlySpan<byte> page)
    {
        Be(offset | Page | (block is null ? Continue : 0), 8);
        if (block is not null)
        {
            Name(block);
        }

        return Bytes(page);
    }

    /// <summary>A compressed-page record (zlib data, be32 length before it).</summary>
    public QemuStreamBuilder CompressedPage(string? block, ulong offset, ReadOnlySpan<byte> zlib)
    {
        Be(offset | CompressPage | (block is null ? Continue : 0), 8);
        if (block is not null)
        {
            Name(block);
        }

        return Be((ulong)zlib.Length, 4).Bytes(zlib);
    }

    /// <summary>EOF, then the JSON description when given.</summary>
    public byte[] Build(string? description = null)
    {
        var result = new List<byte>(_b) { 0x00 };
        if (description is not null)
        {
            byte[] json = Encoding.UTF8.GetBytes(description);
            result.Add(0x06);
            for (int i = 3; i >= 0; i--)
            {
                result.Add((byte)(json.Length >> (8 * i)));
            }

            result.AddRange(json);
        }

        return result.ToArray();
    }

    /// <summary>A description of one device with the given field objects (JSON text).</summary>
    public static string Description(string device, uint instance, uint version, params string[] fields) =>
        "{\"page_size\":4096,\"devices\":[{\"name\":\"" + device + "\",\"instance_id\":" + instance + ",\"vmsd_name\":\"" + device +
        "\",\"version\":" + version + ",\"fields\":[" + string.Join(",", fields) + "]}]}";

    /// <summary>A description field: <c>{"name":..,"type":..,"size":..,"array_len":..}</c>.</summary>
    public static string Field(string name, string type, long size, long? arrayLength = null, string? structJson = null) =>
        "{\"name\":\"" + name + "\",\"type\":\"" + type + "\",\"size\":" + size +
        (arrayLength is long n ? ",\"array_len\":" + n : string.Empty) +
        (structJson is null ? string.Empty : ",\"struct\":" + structJson) + "}";

    /// <summary>zlib (RFC 1950) bytes of <paramref name="data"/>, as QEMU's compress threads write them.</summary>
    public static byte[] Zlib(byte[] data)
    {
        using var ms = new System.IO.MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(ms, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(data);
        }

        return ms.ToArray();
    }

    public static byte[] Repeat(byte value, int count) => Enumerable.Repeat(value, count).ToArray();
}
