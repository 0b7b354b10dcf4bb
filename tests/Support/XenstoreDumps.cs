using System.Text;
using XenMigration.Framing;
using XenMigration.Xenstore;

namespace XenMigration.TestSupport;

/// <summary>Builders of xenstore dumps for tests and benchmarks.</summary>
public static class XenstoreDumps
{
    /// <summary>A realistic live-update dump: every record type, the tree from '/', one domain's connection with a watch and a transaction.</summary>
    public static List<XenstoreRecord> AllTypes(uint version)
    {
        var owner0 = new[] { new XenstorePermission(XenstoreAccess.None, 0) };
        var dom7 = new[] { new XenstorePermission(XenstoreAccess.None, 7), new XenstorePermission(XenstoreAccess.Read, 0, stale: true) };
        var records = new List<XenstoreRecord>
        {
            new XenstoreGlobalRecord(5, 6),
            new XenstoreConnectionRecord(1, 7, 23),
            Socket(2, 9, new byte[] { 1, 2, 3 }, Encoding.ASCII.GetBytes("OK\0partial"), 3, 0xDEADBEEF12345678),
            new XenstoreWatchRecord(1, "/local/domain/7/device", "dev-watch"),
            new XenstoreWatchRecord(1, "@releaseDomain", "rel"),
            new XenstoreTransactionRecord(1, 42),
            Node("/", Array.Empty<byte>(), owner0),
            Node("/local", Array.Empty<byte>(), owner0),
            Node("/local/domain", Array.Empty<byte>(), owner0),
            Node("/local/domain/7", Array.Empty<byte>(), dom7),
            Node("/local/domain/7/name", Encoding.ASCII.GetBytes("web01"), dom7),
            Node("/local/domain/7/data", new byte[] { 0, 1, 2, 0xFF }, dom7),
            new XenstoreNodeRecord(1, 42, "/local/domain/7/name", Encoding.ASCII.GetBytes("web02"), XenstoreNodeAccess.Read | XenstoreNodeAccess.Written, dom7),
            new XenstoreNodeRecord(1, 42, "/local/domain/7/data", Array.Empty<byte>(), XenstoreNodeAccess.None, Array.Empty<XenstorePermission>()),
            new XenstoreGlobalQuotaRecord(new[] { new XenstoreQuota("nodes", 1000), new XenstoreQuota("watches", 128) }, new[] { new XenstoreQuota("memory", 0) }),
            new XenstoreDomainRecord(7, version >= 2 ? 0x1u : 0u, new[] { new XenstoreQuota("nodes", 2000) }),
        };
        if (version >= 2)
        {
            records.Insert(5, new XenstoreWatchRecord(1, "/local/domain/7/memory", "mem", depth: 2));
        }

        return records;
    }

    /// <summary>Socket connection record (the public constructor makes shared-ring ones).</summary>
    public static XenstoreConnectionRecord Socket(uint id, int fd, byte[] inData, byte[] outData, ushort outResponse, ulong? unique) =>
        (XenstoreConnectionRecord)typeof(XenstoreConnectionRecord).GetConstructors(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)[0]
            .Invoke(new object?[] { id, (ushort)XenstoreConnectionType.Socket, (ushort)0, (ushort)0, (ushort)0, 0u, fd, inData, outData, outResponse, unique });

    public static XenstoreNodeRecord Node(string path, byte[] value, IReadOnlyList<XenstorePermission> perms) => new(path, value, perms);

    public static byte[] Write(IEnumerable<XenstoreRecord> records, uint version = 2, bool bigEndian = false)
    {
        var ms = new MemoryStream();
        var w = new XenstoreDumpWriter(ms, version, bigEndian);
        w.WriteHeader();
        foreach (XenstoreRecord r in records)
        {
            w.Write(r);
        }

        w.WriteEnd();
        return ms.ToArray();
    }

    public static List<XenstoreRecord> Read(byte[] data, bool seekable = true)
    {
        Stream s = new MemoryStream(data);
        if (!seekable)
        {
            s = new NonSeekableStream(s, 5);
        }

        using var reader = new XenstoreDumpReader(s);
        var list = new List<XenstoreRecord>();
        XenstoreRecord? r;
        while ((r = reader.ReadNext()) is not null)
        {
            list.Add(r);
        }

        return list;
    }

    /// <summary>A dump of <paramref name="nodes"/> nodes in a tree under /local/domain (for benchmarks).</summary>
    public static void WriteLarge(Stream output, int nodes)
    {
        var perms = new[] { new XenstorePermission(XenstoreAccess.None, 0), new XenstorePermission(XenstoreAccess.Read, 1) };
        var w = new XenstoreDumpWriter(output);
        w.WriteHeader();
        w.Write(new XenstoreNodeRecord("/local", Array.Empty<byte>(), perms));
        w.Write(new XenstoreNodeRecord("/local/domain", Array.Empty<byte>(), perms));
        int perDomain = 1000;
        for (int d = 0, n = 2; n < nodes; d++)
        {
            string dom = "/local/domain/" + d.ToString(System.Globalization.CultureInfo.InvariantCulture);
            w.Write(new XenstoreNodeRecord(dom, Array.Empty<byte>(), perms));
            n++;
            for (int i = 0; i < perDomain - 1 && n < nodes; i++, n++)
            {
                w.Write(new XenstoreNodeRecord(dom + "/key" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.ASCII.GetBytes("value-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)), perms));
            }
        }

        w.WriteEnd();
    }

    /// <summary>A record written the spec's way: length without the padding, zero padding after.</summary>
    public static byte[] SpecStyle(uint type, byte[] body, bool bigEndian = false)
    {
        var b = new ByteBuilder(bigEndian: bigEndian).U32(type).U32((uint)body.Length).Bytes(body);
        return b.PadTo(8).ToArray();
    }

    public static byte[] Header(uint version = 2, bool bigEndian = false) =>
        new ByteBuilder(bigEndian: true).U64(XenstoreFormat.Ident).U32(version).U32(bigEndian ? 1u : 0u).ToArray();
}
