using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace XenMigration.TestSupport;

/// <summary>
/// The real QEMU 7.2 streams of tests/fixtures/qemu (made by make-fixtures.sh) and QEMU's own view of
/// them, saved by the same script: `info registers -a` and `xp` dumps.
/// </summary>
public static class QemuFixtures
{
    public static string Dir => Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "qemu");

    public static string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>Every migration stream the script makes.</summary>
    public static readonly string[] Streams =
    {
        "pc-7.2-stopped", "q35-7.2-stopped", "pc-7.2-live", "pc-7.2-compress", "pc-7.2-ignore-shared",
        "pc-i440fx-2.2-stopped", "pc-7.2-novmdesc", "pc-7.2-devices",
    };

    /// <summary>Registers per CPU from `info registers -a`: name → value (segments: "selector base limit flags").</summary>
    public static List<Dictionary<string, string>> Registers(string stream)
    {
        var cpus = new List<Dictionary<string, string>>();
        Dictionary<string, string>? cpu = null;
        foreach (string line in File.ReadAllLines(PathOf(stream + ".registers.txt")))
        {
            if (line.StartsWith("CPU#", StringComparison.Ordinal))
            {
                cpu = new Dictionary<string, string>();
                cpus.Add(cpu);
                continue;
            }

            if (cpu is null)
            {
                continue;
            }

            Match seg = Regex.Match(line, @"^(ES|CS|SS|DS|FS|GS|LDT|TR) *=([0-9a-f]{4}) ([0-9a-f]+) ([0-9a-f]{8}) ([0-9a-f]{8})");
            if (seg.Success)
            {
                cpu[seg.Groups[1].Value] = string.Join(" ", seg.Groups[2].Value, seg.Groups[3].Value, seg.Groups[4].Value, seg.Groups[5].Value);
                continue;
            }

            Match table = Regex.Match(line, @"^(GDT|IDT)= +([0-9a-f]+) ([0-9a-f]{8})");
            if (table.Success)
            {
                cpu[table.Groups[1].Value] = table.Groups[2].Value + " " + table.Groups[3].Value;
                continue;
            }

            foreach (Match m in Regex.Matches(line, @"\b([A-Z][A-Z0-9]*)=([0-9a-f]+)\b"))
            {
                cpu.TryAdd(m.Groups[1].Value, m.Groups[2].Value);
            }
        }

        return cpus;
    }

    /// <summary>Guest-physical memory from the `xp /Nxg` dumps: (address, bytes).</summary>
    public static List<(ulong Address, byte[] Bytes)> Memory(string stream)
    {
        var ranges = new List<(ulong, byte[])>();
        ulong? start = null;
        var bytes = new List<byte>();
        foreach (string line in File.ReadAllLines(PathOf(stream + ".xp.txt")))
        {
            Match m = Regex.Match(line, @"^([0-9a-f]{16}): (.*)$");
            if (!m.Success)
            {
                continue;
            }

            ulong address = ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (start is null || address != start + (ulong)bytes.Count)
            {
                if (start is ulong s)
                {
                    ranges.Add((s, bytes.ToArray()));
                }

                start = address;
                bytes.Clear();
            }

            foreach (string word in m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                ulong q = ulong.Parse(word.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                bytes.AddRange(BitConverter.GetBytes(q));   // xp prints little-endian quadwords
            }
        }

        if (start is ulong last)
        {
            ranges.Add((last, bytes.ToArray()));
        }

        return ranges;
    }
}
