using System.Text;
using XenMigration.TestSupport;
using XenMigration.Tests.PowerShell;
using XenMigration.Xenstore;

namespace XenMigration.Tests.Core;

/// <summary>oxenstored's text dump (issue 22 item 5): read as the binary format's records, written back as that format.</summary>
public class OxenstoredDumpTests
{
    private static readonly string Dump = Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "oxenstored-4.17", "ox-1-liveupdate.db");

    private static List<XenstoreRecord> Read(byte[] bytes, out OxenstoredDumpReader reader)
    {
        reader = new OxenstoredDumpReader(new MemoryStream(bytes), leaveOpen: false, "dump");
        var list = new List<XenstoreRecord>();
        while (reader.ReadNext() is XenstoreRecord r)
        {
            list.Add(r);
        }

        return list;
    }

    [Fact]
    public void TheRealDumpGivesEveryEntryAsARecord()
    {
        var records = Read(File.ReadAllBytes(Dump), out OxenstoredDumpReader reader);
        Assert.Equal(1, records.Count(r => r.Type == XenstoreRecordType.Global));
        Assert.Equal(8, records.Count(r => r.Type == XenstoreRecordType.Connection));   // 3 dom + 5 socket lines
        Assert.Equal(6, records.Count(r => r.Type == XenstoreRecordType.Watch));
        Assert.Equal(36, records.Count(r => r.Type == XenstoreRecordType.Node));

        var global = Assert.IsType<XenstoreGlobalRecord>(records[0]);
        Assert.Equal((3, 5), (global.ReadWriteSocketFd, global.EventChannelFd));   // "global,3" and "evtchn-dev,5,1"

        // "dom,2,4098,22,12": the local port is xenstored's event channel.
        var dom2 = records.OfType<XenstoreConnectionRecord>().Single(c => c.ConnectionType == XenstoreConnectionType.SharedRing && c.DomainId == 2);
        Assert.Equal(12u, dom2.EventChannel);

        // "watch,-9,...": minus a socket's descriptor names the socket connection.
        var socket9 = records.OfType<XenstoreConnectionRecord>().Single(c => c.ConnectionType == XenstoreConnectionType.Socket && c.SocketFd == 9);
        Assert.Equal(new[] { "@introduceDomain", "/local/domain" }, records.OfType<XenstoreWatchRecord>().Where(w => w.ConnectionId == socket9.ConnectionId).Select(w => w.WatchPath));

        var nodes = records.OfType<XenstoreNodeRecord>().ToDictionary(n => n.Path);
        Assert.Equal("n0,r1,w2,b3,r42", string.Join(",", nodes["/vm/uuid-1"].Permissions));
        Assert.Equal("värde – ✓ ünïcødé", nodes["/data/utf8"].Value);
        Assert.Equal(new byte[] { 0, 1, 2, 0x7f, 0x80, 0xfe, 0xff }, nodes["/data/binary"].ValueBytes.ToArray().Take(7));
        Assert.Equal(0, nodes["/data/empty"].ValueLength);
        Assert.True(nodes["/data/large"].ValueLength >= 2000);
        Assert.Equal("six levels down", nodes["/a/b/c/d/e/f/deep-node"].Value);

        // What the binary format cannot hold is named.
        Assert.Contains(reader.Unmapped, u => u.Contains("VIRQ_DOM_EXC", StringComparison.Ordinal));
        Assert.Contains(reader.Unmapped, u => u.Contains("ring frame", StringComparison.Ordinal));
    }

    [Fact]
    public void ImportThenExportWritesTheBinaryFormatWithTheSameContents()
    {
        using var dir = new TempDir();
        string bin = dir.Combine("converted.dump");
        var r = PsHost.Run("""
            $ox = Import-XenstoreDump -LiteralPath $in
            $ox | Export-XenstoreDump -LiteralPath $out
            Import-XenstoreDump -LiteralPath $out
            """, ("in", Dump), ("out", bin));
        r.AssertNoErrors();
        byte[] head = File.ReadAllBytes(bin).Take(8).ToArray();
        Assert.Equal("xenstore", Encoding.ASCII.GetString(head));
        var binary = r.Objects<XenstoreRecord>().Where(x => x.FilePath == bin).ToList();
        var text = Read(File.ReadAllBytes(Dump), out _);
        foreach (XenstoreRecordType t in new[] { XenstoreRecordType.Global, XenstoreRecordType.Connection, XenstoreRecordType.Watch, XenstoreRecordType.Node })
        {
            Assert.Equal(text.Where(x => x.Type == t).Select(x => x.Summary).OrderBy(s => s, StringComparer.Ordinal), binary.Where(x => x.Type == t).Select(x => x.Summary).OrderBy(s => s, StringComparer.Ordinal));
        }
    }

    [Fact]
    public void DamagedDumpsAreRefusedWithTheirLineOffset()
    {
        byte[] good = File.ReadAllBytes(Dump);
        string text = Encoding.UTF8.GetString(good);

        // Cut anywhere: either a clean shorter dump or a format error, never a crash.
        for (int cut = 0; cut < good.Length; cut += 37)
        {
            try
            {
                Read(good.AsSpan(0, cut).ToArray(), out _);
            }
            catch (XenFormatException)
            {
            }
        }

        void Refused(string dump, string expect)
        {
            var e = Assert.ThrowsAny<XenFormatException>(() => Read(Encoding.UTF8.GetBytes(dump), out _));
            Assert.Contains(expect, e.Message, StringComparison.Ordinal);
        }

        Refused("xenstore-ish\n", "not an oxenstored dump");
        Refused(OxenstoredDumpReader.Magic + "\nstore,2f7,6e30,\n", "odd number of hex digits");
        Refused(OxenstoredDumpReader.Magic + "\nstore,2f,6e30,zz\n", "is not hex");
        Refused(OxenstoredDumpReader.Magic + "\nstore,2f,,\n", "no permissions");
        Refused(OxenstoredDumpReader.Magic + "\nstore,2f,7830,\n", "is not a letter n, r, w or b");
        Refused(OxenstoredDumpReader.Magic + "\nwatch,7,2f,74\n", "domain 7, which no earlier dom or socket line defines");
        Refused(OxenstoredDumpReader.Magic + "\ndom,1,1,2\ndom,1,1,2\n", "defined twice");
        Refused(OxenstoredDumpReader.Magic + "\ndom,99999,1,2\n", "is not a domain");
        Refused(OxenstoredDumpReader.Magic + "\nstore,2f," + new string('a', 70_000) + ",\n", "longer than");

        // Lines oxenstored ignores are ignored here too, and said.
        var records = Read(Encoding.UTF8.GetBytes(OxenstoredDumpReader.Magic + "\nfuture-kind,1,2\nstore,2f,6e30,\n"), out OxenstoredDumpReader reader);
        Assert.Single(records);
        Assert.Contains(reader.Unmapped, u => u.Contains("future-kind", StringComparison.Ordinal));
        Assert.DoesNotContain(text, c => c == (char)0);   // the real dump is text: NULs only inside hex
    }
}
