using System.Text;
using System.Text.RegularExpressions;
using System.Xml;

namespace XenMigration.HelpBuilder;

/// <summary>
/// Writes cmdlet help in MAML, the schema Get-Help reads for binary modules, in the shape PlatyPS's
/// New-ExternalHelp gives it (details, description, syntax per parameter set, parameters, inputs,
/// outputs, notes, examples, related links).
/// </summary>
internal static class MamlWriter
{
    private const string Msh = "http://msh";
    private const string Maml = "http://schemas.microsoft.com/maml/2004/10";
    private const string Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private const string Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static void Write(IReadOnlyList<MarkdownHelpDocument> docs, string path)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false) };
        using XmlWriter w = XmlWriter.Create(path, settings);
        w.WriteStartDocument();
        w.WriteStartElement("helpItems", Msh);
        w.WriteAttributeString("schema", "maml");
        foreach (MarkdownHelpDocument doc in docs)
        {
            WriteCommand(w, doc);
        }

        w.WriteEndElement();
        w.WriteEndDocument();
    }

    private static void WriteCommand(XmlWriter w, MarkdownHelpDocument doc)
    {
        string name = doc.Title;
        int dash = name.IndexOf('-');
        if (dash <= 0)
        {
            throw new InvalidDataException(doc.SourcePath + ": '" + name + "' is not a Verb-Noun name.");
        }

        var parameters = Parameters(doc);
        w.WriteStartElement("command", "command", Command);
        w.WriteAttributeString("xmlns", "maml", null, Maml);
        w.WriteAttributeString("xmlns", "dev", null, Dev);

        w.WriteStartElement("command", "details", Command);
        w.WriteElementString("command", "name", Command, name);
        w.WriteElementString("command", "verb", Command, name[..dash]);
        w.WriteElementString("command", "noun", Command, name[(dash + 1)..]);
        Description(w, Inlines.Paragraphs(doc.Require("SYNOPSIS").Blocks));
        w.WriteEndElement();

        Description(w, Inlines.Paragraphs(doc.Require("DESCRIPTION").Blocks));

        w.WriteStartElement("command", "syntax", Command);
        foreach ((string set, List<string> order) in SyntaxSets(doc))
        {
            w.WriteStartElement("command", "syntaxItem", Command);
            w.WriteElementString("maml", "name", Maml, name);
            foreach (string p in order)
            {
                if (!parameters.TryGetValue(p, out Parameter? info))
                {
                    throw new InvalidDataException(doc.SourcePath + ": syntax '" + set + "' names -" + p + ", which has no PARAMETERS entry.");
                }

                WriteParameter(w, info, set, inSyntax: true);
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();

        w.WriteStartElement("command", "parameters", Command);
        foreach (Parameter p in parameters.Values)
        {
            WriteParameter(w, p, null, inSyntax: false);
        }

        w.WriteEndElement();

        TypeList(w, doc["INPUTS"], "inputTypes", "inputType");
        TypeList(w, doc["OUTPUTS"], "returnValues", "returnValue");

        var notes = doc["NOTES"];
        if (notes is not null)
        {
            w.WriteStartElement("maml", "alertSet", Maml);
            w.WriteStartElement("maml", "alert", Maml);
            Paras(w, Inlines.Paragraphs(notes.Blocks.Concat(notes.Subsections.SelectMany(s => s.Blocks))));
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteStartElement("command", "examples", Command);
        foreach (var ex in doc.Require("EXAMPLES").Subsections)
        {
            w.WriteStartElement("command", "example", Command);
            w.WriteElementString("maml", "title", Maml, "-------------------------- " + ex.Title + " --------------------------");
            w.WriteElementString("dev", "code", Dev, string.Join("\n\n", ex.Code.Select(Inlines.Code)));
            w.WriteStartElement("dev", "remarks", Dev);
            Paras(w, Inlines.Paragraphs(ex.Prose));
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteEndElement();

        w.WriteStartElement("command", "relatedLinks", Command);

        // Get-Help -Online opens the first link that has a URI: the page of this cmdlet.
        if (doc.FrontMatter.TryGetValue("online version", out string? online) && !string.IsNullOrWhiteSpace(online))
        {
            w.WriteStartElement("maml", "navigationLink", Maml);
            w.WriteElementString("maml", "linkText", Maml, "Online Version:");
            w.WriteElementString("maml", "uri", Maml, online.Trim());
            w.WriteEndElement();
        }

        var links = doc["RELATED LINKS"];
        foreach (Match m in Regex.Matches(string.Join("\n", links is null ? [] : links.Blocks.OfType<Markdig.Syntax.ParagraphBlock>().Select(LinkMarkup)), @"\[([^\]]+)\]\(([^)]*)\)"))
        {
            w.WriteStartElement("maml", "navigationLink", Maml);
            w.WriteElementString("maml", "linkText", Maml, m.Groups[1].Value);
            string uri = m.Groups[2].Value;
            w.WriteElementString("maml", "uri", Maml, uri.EndsWith(".md", StringComparison.OrdinalIgnoreCase) ? string.Empty : uri);
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteEndElement();
    }

    private static string LinkMarkup(Markdig.Syntax.ParagraphBlock p)
    {
        var parts = new List<string>();
        for (var i = p.Inline?.FirstChild; i is not null; i = i.NextSibling)
        {
            if (i is Markdig.Syntax.Inlines.LinkInline link)
            {
                parts.Add("[" + Inlines.ToText(link) + "](" + link.Url + ")");
            }
        }

        return string.Join("\n", parts);
    }

    private static void TypeList(XmlWriter w, MarkdownHelpDocument.Section? section, string list, string item)
    {
        w.WriteStartElement("command", list, Command);
        foreach (var sub in section?.Subsections ?? [])
        {
            w.WriteStartElement("command", item, Command);
            w.WriteStartElement("dev", "type", Dev);
            w.WriteElementString("maml", "name", Maml, sub.Title);
            w.WriteEndElement();
            Description(w, Inlines.Paragraphs(sub.Blocks));
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void Description(XmlWriter w, IEnumerable<string> paras)
    {
        w.WriteStartElement("maml", "description", Maml);
        Paras(w, paras);
        w.WriteEndElement();
    }

    private static void Paras(XmlWriter w, IEnumerable<string> paras)
    {
        foreach (string p in paras)
        {
            w.WriteElementString("maml", "para", Maml, Wrap(p, WrapColumn));
        }
    }

    /// <summary>
    /// Help text is pre-wrapped: pwsh re-wraps long paragraph lines at the console width without
    /// regard to words (PowerShell/PowerShell#13296), so every line must already fit. 72 leaves
    /// room for the deepest indentation Get-Help uses (parameters, 8) in an 80-column console.
    /// </summary>
    internal const int WrapColumn = 72;

    internal static string Wrap(string text, int width)
    {
        var result = new StringBuilder();
        foreach (string line in text.Replace("\r\n", "\n").Split('\n'))
        {
            if (result.Length > 0)
            {
                result.Append('\n');
            }

            int column = 0;
            foreach (string word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (column > 0 && column + 1 + word.Length > width)
                {
                    result.Append('\n');
                    column = 0;
                }
                else if (column > 0)
                {
                    result.Append(' ');
                    column++;
                }

                result.Append(word);
                column += word.Length;
            }
        }

        return result.ToString();
    }

    private static void WriteParameter(XmlWriter w, Parameter p, string? set, bool inSyntax)
    {
        bool isSwitch = p.Type == "SwitchParameter";
        w.WriteStartElement("command", "parameter", Command);
        w.WriteAttributeString("required", p.RequiredIn(set) ? "true" : "false");
        w.WriteAttributeString("variableLength", "true");
        w.WriteAttributeString("globbing", p.Get("Accept wildcard characters").Equals("True", StringComparison.OrdinalIgnoreCase) ? "true" : "false");
        w.WriteAttributeString("pipelineInput", p.Get("Accept pipeline input", "False"));
        w.WriteAttributeString("position", p.PositionIn(set));
        string aliases = p.Get("Aliases");
        w.WriteAttributeString("aliases", aliases.Length == 0 ? "none" : aliases);
        w.WriteElementString("maml", "name", Maml, p.Name);
        Description(w, p.Description);
        if (!isSwitch || !inSyntax)
        {
            w.WriteStartElement("command", "parameterValue", Command);
            w.WriteAttributeString("required", isSwitch ? "false" : "true");
            w.WriteAttributeString("variableLength", "false");
            w.WriteString(p.Type);
            w.WriteEndElement();
        }

        w.WriteStartElement("dev", "type", Dev);
        w.WriteElementString("maml", "name", Maml, p.Type);
        w.WriteElementString("maml", "uri", Maml, string.Empty);
        w.WriteEndElement();
        w.WriteElementString("dev", "defaultValue", Dev, p.Get("Default value", "None"));
        w.WriteEndElement();
    }

    // Parameter order per set, as the SYNTAX code block gives it.
    private static List<(string Set, List<string> Order)> SyntaxSets(MarkdownHelpDocument doc)
    {
        var syntax = doc.Require("SYNTAX");
        var result = new List<(string, List<string>)>();
        var blocks = syntax.Subsections.Count > 0
            ? syntax.Subsections.Select(s => (s.Title.Replace(" (Default)", string.Empty, StringComparison.Ordinal), s.Code.FirstOrDefault()))
            : [("(All)", syntax.Blocks.OfType<Markdig.Syntax.FencedCodeBlock>().FirstOrDefault())];
        foreach ((string set, var code) in blocks)
        {
            if (code is null)
            {
                throw new InvalidDataException(doc.SourcePath + ": syntax '" + set + "' has no code block.");
            }

            var order = Regex.Matches(Inlines.Code(code), @"(?<=[\s\[])-([A-Za-z][A-Za-z0-9]*)")
                .Select(m => m.Groups[1].Value).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            result.Add((set, order));
        }

        return result;
    }

    private static Dictionary<string, Parameter> Parameters(MarkdownHelpDocument doc)
    {
        var map = new Dictionary<string, Parameter>(StringComparer.OrdinalIgnoreCase);
        foreach (var sub in doc.Require("PARAMETERS").Subsections.Where(s => s.Title.StartsWith('-')))
        {
            var yaml = sub.Code.FirstOrDefault(c => c.Info == "yaml")
                ?? throw new InvalidDataException(doc.SourcePath + ": parameter " + sub.Title + " has no yaml block.");
            var p = new Parameter(sub.Title[1..], MarkdownHelpDocument.ParseYaml(Inlines.Code(yaml)), Inlines.Paragraphs(sub.Prose));
            if (p.Description.Count == 0)
            {
                throw new InvalidDataException(doc.SourcePath + ": parameter " + sub.Title + " has no description.");
            }

            map.Add(p.Name, p);
        }

        return map;
    }

    private sealed class Parameter(string name, Dictionary<string, string> yaml, List<string> description)
    {
        public string Name { get; } = name;

        public List<string> Description { get; } = description;

        public string Type => Get("Type", "Object");

        public string Get(string key, string fallback = "") => yaml.TryGetValue(key, out string? v) && v.Length > 0 ? v : fallback;

        public bool RequiredIn(string? set) => PerSet(Get("Required", "False"), set).Equals("True", StringComparison.OrdinalIgnoreCase);

        public string PositionIn(string? set)
        {
            string v = PerSet(Get("Position", "Named"), set);
            return v.Equals("Named", StringComparison.OrdinalIgnoreCase) ? "named" : v;
        }

        // "True (Path), False (LiteralPath)" or a plain value; the first value stands for "any set".
        private static string PerSet(string value, string? set)
        {
            var parts = Regex.Matches(value, @"(\w+)\s*\(([^)]*)\)");
            if (parts.Count == 0)
            {
                return value;
            }

            foreach (Match m in parts)
            {
                if (set is not null && m.Groups[2].Value.Split(',').Any(s => s.Trim().Equals(set, StringComparison.OrdinalIgnoreCase)))
                {
                    return m.Groups[1].Value;
                }
            }

            return parts[0].Groups[1].Value;
        }
    }
}
