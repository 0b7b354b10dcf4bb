using System.Text;
using Markdig;
using Markdig.Syntax;
using XenMigration.HelpBuilder;

// Usage: XenMigration.HelpBuilder <docs folder> <output folder (en-US)>
// docs/cmdlets/*.md (PlatyPS 0.14 pages) -> XenMigration.PowerShell.dll-Help.xml (MAML);
// docs/about/about_*.md -> about_*.help.txt.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: XenMigration.HelpBuilder <docs folder> <output folder>");
    return 2;
}

try
{
    string docs = args[0];
    string output = args[1];
    Directory.CreateDirectory(output);

    var pages = Directory.GetFiles(Path.Combine(docs, "cmdlets"), "*.md").OrderBy(p => p, StringComparer.Ordinal)
        .Select(p => new MarkdownHelpDocument(p)).ToList();
    string maml = Path.Combine(output, "XenMigration.PowerShell.dll-Help.xml");
    MamlWriter.Write(pages, maml + ".tmp");
    File.Move(maml + ".tmp", maml, overwrite: true);
    Console.WriteLine($"Help: {pages.Count} cmdlets -> {maml}");

    string aboutDir = Path.Combine(docs, "about");
    foreach (string md in Directory.Exists(aboutDir) ? Directory.GetFiles(aboutDir, "about_*.md") : [])
    {
        string txt = Path.Combine(output, Path.GetFileNameWithoutExtension(md) + ".help.txt");
        File.WriteAllText(txt, AboutText.Render(File.ReadAllText(md)), new UTF8Encoding(false));
        Console.WriteLine($"Help: {Path.GetFileName(md)} -> {txt}");
    }

    return 0;
}
catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}

/// <summary>An about_ topic as the text Get-Help prints: headings in capitals, prose wrapped at 80.</summary>
internal static class AboutText
{
    public static string Render(string markdown)
    {
        var doc = Markdown.Parse(markdown, new MarkdownPipelineBuilder().UsePipeTables().Build());
        var sb = new StringBuilder();
        foreach (Block block in doc)
        {
            switch (block)
            {
                case HeadingBlock h:
                    string text = Inlines.ToText(h.Inline);
                    sb.AppendLine(h.Level <= 1 ? text.ToUpperInvariant() : text).AppendLine();
                    break;
                case FencedCodeBlock code:
                    foreach (string line in Inlines.Code(code).Split('\n'))
                    {
                        sb.Append("    ").AppendLine(line.TrimEnd());
                    }

                    sb.AppendLine();
                    break;
                default:
                    foreach (string para in Inlines.Paragraphs([block]))
                    {
                        Wrap(sb, para, para.StartsWith("- ", StringComparison.Ordinal) ? "    " : "  ");
                        sb.AppendLine();
                    }

                    break;
            }
        }

        return sb.ToString().TrimEnd() + Environment.NewLine;
    }

    private static void Wrap(StringBuilder sb, string text, string indent)
    {
        var line = new StringBuilder("  ");
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length + word.Length + 1 > 80 && line.ToString().Trim().Length > 0)
            {
                sb.AppendLine(line.ToString().TrimEnd());
                line.Clear().Append(indent);
            }

            line.Append(word).Append(' ');
        }

        sb.AppendLine(line.ToString().TrimEnd());
    }
}
