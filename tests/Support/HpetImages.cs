using XenMigration.HvmContext;
using XenMigration.Libxc;
using XenMigration.XenStream;
using XenMigration.Xl;

namespace XenMigration.TestSupport;

/// <summary>
/// The HPET state of the two real `xl save` images of the xen-devel report (April 2021,
/// ../shared/data/xen-devel-2021-hpet/hpet-values.txt) in an xl save file of a Windows guest: the
/// frozen one (timer 0 one-shot) and the one that resumed.
/// </summary>
public static class HpetImages
{
    public static byte[] Frozen(bool withPage = false) => Build(0x97b90bc74, 0xf0000000002934, 0xfd4aa84c, withPage);

    public static byte[] Resumed(bool withPage = false) => Build(0xacbd23c57, 0xf000000000293c, 0xacbd3761b, withPage);

    public static byte[] Build(ulong mainCounter, ulong timer0Config, ulong timer0Comparator, bool withPage)
    {
        byte[] blob = new HvmContextBuilder()
            .AddHeader(0x000906EA, 0)
            .Add(HvmTypeCode.Cpu, 0, new byte[1032])
            .AddHpet(0xf424008086a201, 3, 0, mainCounter, new[] { (timer0Config, timer0Comparator, 0UL), (0xf0000000000130UL, 0xffffffffUL, 0UL), (0xf0000000000130UL, 0xffffffffUL, 0UL) }, new ulong[] { 0xee6b2, 0, 0 })
            .AddEnd()
            .ToArray();
        using var ms = new MemoryStream();
        using (var w = new XenStreamWriter(ms, leaveOpen: true))
        {
            w.WriteXlHeader(XlMandatoryFlags.Json | XlMandatoryFlags.StreamV2, "{\"c_info\":{\"name\":\"win10\",\"type\":\"hvm\"}}");
            w.WriteLibxlHeader();
            w.WriteEmptyRecord(1);
            w.WriteImageHeader(3);
            w.WriteDomainHeader(XenGuestType.Hvm, 4, 12);
            w.WriteEmptyRecord(LibxcFormat.StaticDataEnd);
            if (withPage)
            {
                w.WritePageData(new ulong[] { 0 }, new byte[4096]);
            }

            w.WriteHvmContext(blob);
            w.WriteEmptyRecord(LibxcFormat.End);
            w.WriteEmptyRecord(0);
        }

        return ms.ToArray();
    }
}
