using System.Text;
using Markdig;
using Markdig.Extensions.Tables;
using Markdig.Extensions.Yaml;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace XenMigration.HelpBuilder;

/// <summary>A PlatyPS 0.14 (schema 2.0.0) cmdlet page, split into its sections.</summary>
internal sealed class MarkdownHelpDocument
{
    private static readonly MarkdownPipeline s_pipeline = new MarkdownPipelineBuilder().UseYamlFrontMatter().UsePipeTables().Build();

    public MarkdownHelpDocument(string path)
    {
        SourcePath = path;
        MarkdownDocument doc = Markdown.Parse(File.ReadAllText(path), s_pipeline);
        Section? current = null;
        Subsection? sub = null;
        foreach (Block block in doc)
        {
            switch (block)
            {
                case YamlFrontMatterBlock yaml:
                    FrontMatter = ParseYaml(yaml.Lines.ToString());
                    break;
                case HeadingBlock { Level: 1 } h1:
                    Title = Inlines.ToText(h1.Inline);
                    break;
                case HeadingBlock { Level: 2 } h2:
                    current = new Section(Inlines.ToText(h2.Inline));
                    Sections.Add(current);
                    sub = null;
                    break;
                case HeadingBlock { Level: 3 } h3 when current is not null:
                    sub = new Subsection(Inlines.ToText(h3.Inline));
                    current.Subsections.Add(sub);
                    break;
                default:
                    if (sub is not null)
                    {
                        sub.Blocks.Add(block);
                    }
                    else
                    {
                        current?.Blocks.Add(block);
                    }

                    break;
            }
        }

        if (string.IsNullOrEmpty(Title))
        {
            throw new InvalidDataException(path + ": no '# Name' title.");
        }
    }

    public string SourcePath { get; }

    public string Title { get; } = string.Empty;

    public Dictionary<string, string> FrontMatter { get; private set; } = new(StringComparer.OrdinalIgnoreCase);

    public List<Section> Sections { get; } = new();

    public Section? this[string name] => Sections.FirstOrDefault(s => string.Equals(s.Title, name, StringComparison.OrdinalIgnoreCase));

    public Section Require(string name) =>
        this[name] ?? throw new InvalidDataException(SourcePath + ": no '## " + name + "' section.");

    public static Dictionary<string, string> ParseYaml(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            int colon = line.IndexOf(':');
            if (colon > 0 && line.Trim() != "---")
            {
                map[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return map;
    }

    internal sealed class Section(string title)
    {
        public string Title { get; } = title;

        public List<Block> Blocks { get; } = new();

        public List<Subsection> Subsections { get; } = new();
    }

    internal sealed class Subsection(string title)
    {
        public string Title { get; } = title;

        public List<Block> Blocks { get; } = new();

        /// <summary>The code of the fenced blocks, in order.</summary>
        public IEnumerable<FencedCodeBlock> Code => Blocks.OfType<FencedCodeBlock>();

        /// <summary>The prose blocks (everything but fenced code).</summary>
        public IEnumerable<Block> Prose => Blocks.Where(b => b is not FencedCodeBlock);
    }
}

/// <summary>Markdown to the plain text that Get-Help prints: one string per paragraph.</summary>
internal static class Inlines
{
    public static string ToText(ContainerInline? inline)
    {
        var sb = new StringBuilder();
        Append(sb, inline);
        return sb.ToString().Trim();
    }

    public static string Code(FencedCodeBlock code) => string.Join("\n", code.Lines.Lines.Take(code.Lines.Count).Select(l => l.ToString())).TrimEnd();

    /// <summary>Paragraphs of text for blocks: lists become "- item" lines, tables "a | b" rows.</summary>
    public static List<string> Paragraphs(IEnumerable<Block> blocks)
    {
        var paras = new List<string>();
        foreach (Block block in blocks)
        {
            switch (block)
            {
                case ParagraphBlock p:
                    paras.Add(ToText(p.Inline));
                    break;
                case ListBlock list:
                    foreach (ListItemBlock item in list.OfType<ListItemBlock>())
                    {
                        var inner = Paragraphs(item);
                        if (inner.Count > 0)
                        {
                            paras.Add("- " + string.Join(" ", inner));
                        }
                    }

                    break;
                case Table table:
                    paras.AddRange(TableRows(table));
                    break;
                case FencedCodeBlock code:
                    paras.Add(Code(code));
                    break;
                case CodeBlock code:
                    paras.Add(code.Lines.ToString().TrimEnd());
                    break;
                case QuoteBlock quote:
                    paras.AddRange(Paragraphs(quote));
                    break;
                case HeadingBlock heading:
                    paras.Add(ToText(heading.Inline).ToUpperInvariant());
                    break;
                case ContainerBlock container:
                    paras.AddRange(Paragraphs(container));
                    break;
            }
        }

        return paras.Where(p => p.Length > 0).ToList();
    }

    // A table reads best in a console as one line per row: "Code (Severity): what it means".
    private static IEnumerable<string> TableRows(Table table)
    {
        foreach (TableRow row in table.OfType<TableRow>())
        {
            if (row.IsHeader)
            {
                continue;
            }

            var cells = row.OfType<TableCell>().Select(c => string.Join(" ", Paragraphs(c))).ToList();
            if (cells.Count == 0)
            {
                continue;
            }

            yield return cells.Count switch
            {
                1 => cells[0],
                2 => cells[0] + ": " + cells[1],
                _ => cells[0] + " (" + string.Join(", ", cells.Skip(1).Take(cells.Count - 2)) + "): " + cells[^1],
            };
        }
    }

    private static void Append(StringBuilder sb, Inline? inline)
    {
        switch (inline)
        {
            case null:
                return;
            case LiteralInline literal:
                sb.Append(literal.Content.ToString());
                break;
            case CodeInline code:
                sb.Append(code.Content);
                break;
            case LineBreakInline br:
                sb.Append(br.IsHard ? "\n" : " ");
                break;
            case HtmlEntityInline entity:
                sb.Append(entity.Transcoded.ToString());
                break;
            case AutolinkInline auto:
                sb.Append(auto.Url);
                break;
            case LinkInline link:
                AppendChildren(sb, link);
                if (!string.IsNullOrEmpty(link.Url) && !link.Url.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
                {
                    sb.Append(" (").Append(link.Url).Append(')');
                }

                break;
            case ContainerInline container:
                AppendChildren(sb, container);
                break;
            default:
                sb.Append(inline.ToString());
                break;
        }
    }

    private static void AppendChildren(StringBuilder sb, ContainerInline container)
    {
        for (Inline? child = container.FirstChild; child is not null; child = child.NextSibling)
        {
            Append(sb, child);
        }
    }
}
