using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Text.RegularExpressions;
using XenMigration.TestSupport;
using XenMigration.Rules;

namespace XenMigration.Tests.PowerShell;

/// <summary>
/// The docs are part of the feature: every exported cmdlet has docs/cmdlets/Name.md in the
/// PlatyPS 0.14 schema, and every parameter's metadata in it matches the cmdlet (the checks of
/// PSScriptAnalyzer's ModuleHelp.Tests.ps1, plus accepted values and outputs).
/// </summary>
public class DocsAndScriptsTests
{
    private static readonly HashSet<string> s_common = new(StringComparer.OrdinalIgnoreCase)
    {
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    };

    private static List<CmdletInfo> ExportedCmdlets()
    {
        var r = PsHost.Run("Get-Command -Module XenMigration -CommandType Cmdlet");
        r.AssertNoErrors();
        var cmdlets = r.Output.Select(o => (CmdletInfo)o.BaseObject).ToList();
        Assert.NotEmpty(cmdlets);
        return cmdlets;
    }

    public static TheoryData<string> CmdletNames()
    {
        string psd1 = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "XenMigration.psd1"));
        var data = new TheoryData<string>();
        string block = Regex.Match(psd1, @"CmdletsToExport\s*=\s*@\((.*?)\)", RegexOptions.Singleline).Groups[1].Value;
        foreach (Match m in Regex.Matches(block, @"'([A-Z][A-Za-z]+-[A-Z][A-Za-z0-9]+)'"))
        {
            data.Add(m.Groups[1].Value);
        }

        return data;
    }

    [Fact]
    public void ManifestExportsExactlyTheCmdletsTheAssemblyDefines()
    {
        string sources = string.Join("\n", Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "src", "XenMigration.PowerShell"), "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText));
        var defined = Regex.Matches(sources, @"\[Cmdlet\(Verbs\w+\.(\w+),\s*""(\w+)""").Select(m => m.Groups[1].Value + "-" + m.Groups[2].Value).OrderBy(x => x).ToList();
        var exported = ExportedCmdlets().Select(c => c.Name).OrderBy(x => x).ToList();
        Assert.Equal(defined, exported);
        Assert.Equal(Enumerable.Select<object[], string>(CmdletNames(), d => (string)d[0]).OrderBy(x => x), exported);
    }

    [Fact]
    public void EveryDocPageBelongsToAnExportedCmdlet()
    {
        var exported = ExportedCmdlets().Select(c => c.Name).ToHashSet();
        foreach (string md in Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "docs", "cmdlets"), "*.md"))
        {
            Assert.Contains(Path.GetFileNameWithoutExtension(md), exported);
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void CmdletIsFullyDocumented(string name)
    {
        CmdletInfo cmdlet = ExportedCmdlets().Single(c => c.Name == name);
        string path = Path.Combine(Fixtures.RepoRoot, "docs", "cmdlets", name + ".md");
        Assert.True(File.Exists(path), path + " is missing");
        var doc = new MarkdownHelp(File.ReadAllText(path));

        Assert.Equal("XenMigration.PowerShell.dll-Help.xml", doc.FrontMatter["external help file"]);
        Assert.Equal("XenMigration", doc.FrontMatter["Module Name"]);
        Assert.Equal("2.0.0", doc.FrontMatter["schema"]);
        Assert.Equal(name, doc.Title);
        Assert.False(string.IsNullOrWhiteSpace(doc.Section("SYNOPSIS")), "SYNOPSIS is empty");
        Assert.True(doc.Section("DESCRIPTION").Length > 200, "DESCRIPTION is too short");
        Assert.False(string.IsNullOrWhiteSpace(doc.Section("INPUTS")), "INPUTS is empty");

        // One syntax block per parameter set, the default marked.
        var sets = cmdlet.ParameterSets.Select(s => s.Name + (s.IsDefault && cmdlet.ParameterSets.Count > 1 ? " (Default)" : string.Empty)).ToList();
        var syntax = doc.Subsections("SYNTAX").Select(s => s.Title).ToList();
        if (cmdlet.ParameterSets.Count > 1)
        {
            Assert.Equal(sets.OrderBy(x => x), syntax.OrderBy(x => x));
        }

        // Examples: at least two, each with PowerShell code.
        var examples = doc.Subsections("EXAMPLES").ToList();
        Assert.True(examples.Count >= 2, "fewer than two examples");
        Assert.All(examples, e => Assert.Contains("```powershell", e.Body));

        // Outputs name every [OutputType].
        var outputs = doc.Subsections("OUTPUTS").Select(s => s.Title).ToHashSet();
        foreach (PSTypeName t in cmdlet.OutputType)
        {
            Assert.Contains(t.Type?.FullName ?? t.Name, outputs);
        }

        // Parameters: each documented, with metadata that matches, and none extra.
        var documented = doc.Subsections("PARAMETERS").Where(s => s.Title.StartsWith('-')).ToDictionary(s => s.Title[1..]);
        var actual = cmdlet.Parameters.Values.Where(p => !s_common.Contains(p.Name)).ToList();
        Assert.Equal(actual.Select(p => p.Name).OrderBy(x => x), documented.Keys.OrderBy(x => x));
        Assert.Contains(doc.Subsections("PARAMETERS"), s => s.Title == "CommonParameters");
        foreach (ParameterMetadata p in actual)
        {
            var section = documented[p.Name];
            var yaml = section.Yaml();
            string where = name + " -" + p.Name + ": ";
            Assert.True(section.Body.IndexOf("```yaml", StringComparison.Ordinal) > 20, where + "no description");
            Assert.Equal(TypeName(p.ParameterType), yaml["Type"]);

            var mySets = p.ParameterSets.Keys.ToList();
            bool all = mySets.Contains(ParameterAttribute.AllParameterSets) || cmdlet.ParameterSets.All(s => mySets.Contains(s.Name));
            Assert.True((all ? "(All)" : string.Join(", ", mySets.OrderBy(x => x))) == Normalize(yaml["Parameter Sets"]), where + "Parameter Sets " + yaml["Parameter Sets"]);
            Assert.Equal(string.Join(", ", p.Aliases.OrderBy(x => x)), string.Join(", ", Normalize(yaml["Aliases"]).Split(", ", StringSplitOptions.RemoveEmptyEntries).OrderBy(x => x)));

            var meta = p.ParameterSets.Values.ToList();
            Assert.True(Expected(meta.Select(m => m.IsMandatory ? "True" : "False")) == yaml["Required"], where + "Required");
            Assert.True(Expected(meta.Select(m => m.Position == int.MinValue ? "Named" : m.Position.ToString(System.Globalization.CultureInfo.InvariantCulture))) == yaml["Position"], where + "Position");
            string pipeline = Expected(meta.Select(m =>
                m.ValueFromPipeline && m.ValueFromPipelineByPropertyName ? "True (ByPropertyName, ByValue)"
                : m.ValueFromPipeline ? "True (ByValue)"
                : m.ValueFromPipelineByPropertyName ? "True (ByPropertyName)" : "False"));
            Assert.True(pipeline == yaml["Accept pipeline input"], where + "Accept pipeline input " + yaml["Accept pipeline input"]);
            bool wildcards = p.Attributes.OfType<SupportsWildcardsAttribute>().Any();
            Assert.Equal(wildcards ? "True" : "False", yaml["Accept wildcard characters"]);
            Assert.True(yaml.ContainsKey("Default value"), where + "Default value");

            Type element = p.ParameterType.IsArray ? p.ParameterType.GetElementType()! : p.ParameterType;
            string[]? accepted = p.Attributes.OfType<ValidateSetAttribute>().FirstOrDefault()?.ValidValues.ToArray()
                ?? (element.IsEnum ? Enum.GetNames(element) : null);
            if (accepted is not null)
            {
                Assert.True(yaml.ContainsKey("Accepted values"), where + "Accepted values missing");
                Assert.Equal(accepted.OrderBy(x => x), Normalize(yaml["Accepted values"]).Split(", ").OrderBy(x => x));
            }
        }
    }

    [Fact]
    public void EveryVerificationCodeIsDocumentedWithItsSeverity()
    {
        string doc = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "docs", "cmdlets", "Test-XenStream.md"));
        foreach (XenMigration.Rules.XenIssueCode code in XenMigration.Rules.XenIssueCodes.All)
        {
            Assert.Contains("| " + code.Code + " | " + code.Severity + " |", doc);
        }
    }

    [Fact]
    public void EveryScriptAndDataFileInTheRepositoryParses()
    {
        var files = Directory.EnumerateFiles(Fixtures.RepoRoot, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".ps1", StringComparison.Ordinal) || f.EndsWith(".psd1", StringComparison.Ordinal) || f.EndsWith(".psm1", StringComparison.Ordinal))
            .Where(f => !Regex.IsMatch(f, @"[\\/](bin|obj|out|\.git)[\\/]"))
            .ToList();
        Assert.Contains(files, f => f.EndsWith("build.ps1", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("XenMigration.psd1", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".Tests.ps1", StringComparison.Ordinal));
        foreach (string file in files)
        {
            Parser.ParseFile(file, out _, out ParseError[] errors);
            Assert.True(errors.Length == 0, file + ": " + string.Join("; ", errors.Select(e => e.Extent.StartLineNumber + ": " + e.Message)));
        }
    }

    [Fact]
    public void FormatAndTypeFilesLoad()
    {
        string dir = Path.GetDirectoryName(Fixtures.ModuleManifest)!;
        _ = new FormatTable(new[] { Path.Combine(dir, "XenMigration.format.ps1xml") });
        _ = new TypeTable(new[] { Path.Combine(dir, "XenMigration.types.ps1xml") });
    }

    private static string Expected(IEnumerable<string> perSet)
    {
        var distinct = perSet.Distinct().ToList();
        return distinct.Count == 1 ? distinct[0] : string.Join(", ", distinct);
    }

    private static string Normalize(string value) => value.Trim();

    // PlatyPS writes the short type name (String[], SwitchParameter, XenRecordType[]).
    private static string TypeName(Type t) => t.IsGenericType ? t.Name[..t.Name.IndexOf('`')] : t.Name;

    private sealed class MarkdownHelp
    {
        private readonly string[] _lines;

        public MarkdownHelp(string text)
        {
            _lines = text.Replace("\r\n", "\n").Split('\n');
            Assert.Equal("---", _lines[0]);
            int end = Array.IndexOf(_lines, "---", 1);
            FrontMatter = _lines[1..end].Where(l => l.Contains(':')).ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..].Trim());
            Title = _lines.First(l => l.StartsWith("# ", StringComparison.Ordinal))[2..].Trim();
        }

        public Dictionary<string, string> FrontMatter { get; }

        public string Title { get; }

        public string Section(string name)
        {
            int start = Array.IndexOf(_lines, "## " + name);
            Assert.True(start >= 0, "## " + name + " missing");
            int end = start + 1;
            while (end < _lines.Length && !_lines[end].StartsWith("## ", StringComparison.Ordinal))
            {
                end++;
            }

            return string.Join("\n", _lines[(start + 1)..end]).Trim();
        }

        public IEnumerable<Sub> Subsections(string name)
        {
            string[] lines = Section(name).Split('\n');
            bool inCode = false;
            Sub? current = null;
            foreach (string line in lines)
            {
                if (line.StartsWith("```", StringComparison.Ordinal))
                {
                    inCode = !inCode;
                }

                if (!inCode && line.StartsWith("### ", StringComparison.Ordinal))
                {
                    if (current is not null)
                    {
                        yield return current;
                    }

                    current = new Sub(line[4..].Trim());
                    continue;
                }

                current?.Lines.Add(line);
            }

            if (current is not null)
            {
                yield return current;
            }
        }
    }

    private sealed class Sub(string title)
    {
        public string Title { get; } = title;
        public List<string> Lines { get; } = new();
        public string Body => string.Join("\n", Lines);

        public Dictionary<string, string> Yaml()
        {
            int start = Lines.IndexOf("```yaml");
            Assert.True(start >= 0, Title + ": no yaml block");
            int end = Lines.IndexOf("```", start + 1);
            return Lines.Skip(start + 1).Take(end - start - 1).Where(l => l.Contains(':'))
                .ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..].Trim());
        }
    }

    [Fact]
    public void EveryFormatSectionTheCodeCitesIsInDocsFormats()
    {
        string notes = string.Join("\n", Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "docs", "formats"), "*.md").Select(File.ReadAllText));
        var cited = Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !Regex.IsMatch(f, @"[\\/](bin|obj)[\\/]"))
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"§[0-9]+(\.[0-9]+)*").Select(m => m.Value))
            .Distinct()
            .ToList();
        Assert.NotEmpty(cited);
        Assert.All(cited, section => Assert.Matches(Regex.Escape(section) + @"(?![0-9.])", notes));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains("xen.md", StringComparison.Ordinal));
    }
}

/// <summary>Every public enum of Core travels through CliXml as its name (issue 19).</summary>
public class EnumSerializationTests
{
    [Fact]
    public void EveryPublicEnumIsSerializedAsItsName()
    {
        string types = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "src", "XenMigration.PowerShell", "XenMigration.types.ps1xml"));
        var enums = typeof(XenMigration.XenFormatException).Assembly.GetExportedTypes().Where(t => t.IsEnum).Select(t => t.FullName!).ToList();
        Assert.NotEmpty(enums);
        Assert.All(enums, e => Assert.True(
            Regex.IsMatch(types, "<Name>" + Regex.Escape(e) + @"</Name>\s*<Members>\s*<MemberSet>\s*<Name>PSStandardMembers</Name>\s*<Members>\s*<NoteProperty>\s*<Name>SerializationMethod</Name>\s*<Value>String</Value>"),
            e + " has no SerializationMethod String in XenMigration.types.ps1xml"));
    }
}
