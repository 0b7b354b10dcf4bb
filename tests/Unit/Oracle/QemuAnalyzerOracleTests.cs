using System.Text.Json.Nodes;
using XenMigration.Qemu;
using XenMigration.TestSupport;
using XenMigration.Images;

namespace XenMigration.Tests.Oracle;

/// <summary>
/// Every decoded field equals what QEMU's own analyze-migration.py prints for the same stream: the
/// same names, nesting, array unfolding, subsections and value text.
/// </summary>
public class QemuAnalyzerOracleTests
{
    [SkippableTheory]
    [InlineData("pc-7.2-stopped")]
    [InlineData("q35-7.2-stopped")]
    [InlineData("pc-7.2-live")]
    [InlineData("pc-7.2-devices")]
    public void FieldsEqualTheAnalyzers(string name)
    {
        Skip.If(QemuAnalyzer.Missing is not null, QemuAnalyzer.Missing);
        string file = QemuFixtures.PathOf(name + ".qevm");
        XenTools.Outcome run = QemuAnalyzer.State(file);
        Assert.True(run.ExitCode == 0, run.Output);
        var expected = (JsonObject)JsonNode.Parse(run.Output)!;

        using QemuImage image = QemuImage.OpenFile(file).Single();
        var actual = new JsonObject();
        var seen = new HashSet<uint>();
        while (image.Reader.ReadNext() is QemuRecord r)
        {
            if (r is not QemuSection s || !seen.Add(s.SectionId))
            {
                continue;
            }

            string key = $"{s.IdStr} ({s.SectionId})";
            if (s.IdStr == "ram")
            {
                continue;   // filled in after the walk, from the block list
            }

            actual[key] = Dict(s.State!);
        }

        var sizes = new JsonObject();
        foreach (QemuRamBlock b in image.Reader.RamBlocks)
        {
            sizes[b.Name] = $"0x{b.Length:x16}";
        }

        actual = Reorder(actual, expected, new JsonObject { ["section sizes"] = sizes });
        Assert.Equal(expected.ToJsonString(), actual.ToJsonString());
    }

    // The analyzer's dictionary of a VMState: fields in order, a repeated name becoming a list,
    // structs as dictionaries, bools as JSON booleans, then each subsection by name.
    private static JsonObject Dict(QemuVmState state)
    {
        var o = new JsonObject();
        foreach (QemuField f in state.Fields)
        {
            JsonNode value = f.Type == "struct" ? Dict(f.Struct!) : f.Value is bool b ? JsonValue.Create(b) : JsonValue.Create(f.Text);
            if (!o.ContainsKey(f.Name))
            {
                o[f.Name] = value;
            }
            else if (o[f.Name] is JsonArray list)
            {
                list.Add(value);
            }
            else
            {
                JsonNode first = o[f.Name]!;
                o.Remove(f.Name);
                o[f.Name] = new JsonArray(first, value);
            }
        }

        foreach (QemuVmState sub in state.Subsections)
        {
            o[sub.Name] = Dict(sub);
        }

        return o;
    }

    // The analyzer keys sections by first appearance; RAM's entry is its block sizes.
    private static JsonObject Reorder(JsonObject actual, JsonObject expected, JsonObject ram)
    {
        var result = new JsonObject();
        foreach (KeyValuePair<string, JsonNode?> pair in expected)
        {
            if (pair.Key.StartsWith("ram (", StringComparison.Ordinal))
            {
                result[pair.Key] = ram.DeepClone();
            }
            else if (actual[pair.Key] is JsonNode node)
            {
                result[pair.Key] = node.DeepClone();
            }
        }

        foreach (KeyValuePair<string, JsonNode?> pair in actual)
        {
            if (!result.ContainsKey(pair.Key))
            {
                result[pair.Key] = pair.Value!.DeepClone();
            }
        }

        return result;
    }
}
