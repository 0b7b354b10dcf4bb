using System.Text;
using System.Text.RegularExpressions;
using XenMigration.TestSupport;

namespace XenMigration.Tests.Layout;

/// <summary>
/// The shape of Core, checked on every build: its folders depend on each other without a cycle,
/// the graph in docs/architecture.md is the one the sources have, and no file grows past 900 lines.
/// A folder depends on another when one of its files names a type declared there (the same
/// heuristic as ../shared/tools/core-graph.py).
/// </summary>
public class CoreStructureTests
{
    private static readonly Regex s_declaration = new(@"\b(?:class|struct|enum|interface|record)\s+([A-Z]\w*)", RegexOptions.Compiled);
    private static readonly Regex s_strip = new(@"//[^\n]*|/\*.*?\*/|""(?:\\.|[^""\\])*""", RegexOptions.Compiled | RegexOptions.Singleline);
    private static readonly Regex s_token = new(@"\b[A-Z]\w*\b", RegexOptions.Compiled);

    private static string CoreRoot => Path.Combine(Fixtures.RepoRoot, "src", "XenMigration.Core");

    /// <summary>folder -> the folders it depends on.</summary>
    internal static SortedDictionary<string, SortedSet<string>> FolderGraph()
    {
        var files = Directory.EnumerateFiles(CoreRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => (Folder: Path.GetRelativePath(CoreRoot, f).Split(Path.DirectorySeparatorChar) is { Length: > 1 } parts ? parts[0] : ".", Text: s_strip.Replace(File.ReadAllText(f), " ")))
            .ToList();
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string folder, string text) in files)
        {
            foreach (Match m in s_declaration.Matches(text))
            {
                owner.TryAdd(m.Groups[1].Value, folder);
            }
        }

        var graph = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach ((string folder, string text) in files)
        {
            if (folder == ".")
            {
                continue;
            }

            if (!graph.TryGetValue(folder, out SortedSet<string>? deps))
            {
                graph[folder] = deps = new SortedSet<string>(StringComparer.Ordinal);
            }

            foreach (Match m in s_token.Matches(text))
            {
                if (owner.TryGetValue(m.Value, out string? o) && o != folder && o != ".")
                {
                    deps.Add(o);
                }
            }
        }

        return graph;
    }

    [Fact]
    public void CoreFoldersHaveNoDependencyCycle()
    {
        var graph = FolderGraph();
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).ToList();
        Assert.True(cycles.Count == 0, "Core folders depend on each other in a cycle: " + string.Join("; ", cycles.Select(c => string.Join(" <-> ", c))) + ". Move the shared part down a floor (see docs/architecture.md).");
    }

    [Fact]
    public void TheDocumentedGraphIsTheSourcesGraph()
    {
        string expected = string.Join("\n", FolderGraph().Select(p => p.Key + " -> " + (p.Value.Count == 0 ? "(nothing)" : string.Join(", ", p.Value))));
        string doc = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "docs", "architecture.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Match block = Regex.Match(doc, "```text folder-graph\n(.*?)\n```", RegexOptions.Singleline);
        Assert.True(block.Success, "docs/architecture.md has no ```text folder-graph block.");
        Assert.True(block.Groups[1].Value == expected, "docs/architecture.md's folder graph is out of date; the sources give:\n" + expected);
    }

    [Fact]
    public void NoCoreFileIsOver900Lines()
    {
        var long_ = Directory.EnumerateFiles(CoreRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Select(f => (File: Path.GetRelativePath(CoreRoot, f), Lines: File.ReadAllLines(f).Length))
            .Where(f => f.Lines > 900)
            .ToList();
        Assert.True(long_.Count == 0, "Core files over 900 lines: " + string.Join(", ", long_.Select(f => f.File + " (" + f.Lines + ")")));
    }

    [Fact]
    public void TheCheckFindsACycle()
    {
        // The check itself: a cycle of three folders is found, a chain is not.
        var graph = new SortedDictionary<string, SortedSet<string>>
        {
            ["A"] = new() { "B" },
            ["B"] = new() { "C" },
            ["C"] = new() { "A" },
            ["D"] = new() { "A" },
        };
        Assert.Single(StronglyConnected(graph), c => c.Count == 3);
        graph["C"].Clear();
        Assert.DoesNotContain(StronglyConnected(graph), c => c.Count > 1);
    }

    // Tarjan's strongly connected components.
    private static List<List<string>> StronglyConnected(SortedDictionary<string, SortedSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (string w in graph.TryGetValue(v, out var deps) ? deps : new SortedSet<string>())
            {
                if (!index.TryGetValue(w, out int wIndex))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], wIndex);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                result.Add(component);
            }
        }

        foreach (string v in graph.Keys)
        {
            if (!index.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return result;
    }
}
