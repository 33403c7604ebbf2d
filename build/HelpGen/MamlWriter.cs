using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Kubestead.HelpGen;

/// <summary>A cmdlet help page in platyPS markdown layout, parsed.</summary>
public sealed record HelpPage(string Name, string Synopsis, string Description, IReadOnlyList<string> Syntax,
    IReadOnlyList<HelpExample> Examples, IReadOnlyList<HelpParameter> Parameters, IReadOnlyList<string> Outputs, IReadOnlyList<string> Links);

public sealed record HelpExample(string Title, string Code, string Remarks);

public sealed record HelpParameter(string Name, string Description, string Type, bool Required, string Position, string PipelineInput);

/// <summary>
/// Turns platyPS-layout markdown (docs/en-US/*.md) into MAML (Kubestead.dll-Help.xml) and about_*.md into about_*.help.txt,
/// because platyPS is not reachable where this builds.
/// </summary>
public static partial class MamlWriter
{
    [GeneratedRegex(@"^## (.+)$", RegexOptions.Multiline)]
    private static partial Regex H2();

    [GeneratedRegex(@"^### (.+)$", RegexOptions.Multiline)]
    private static partial Regex H3();

    [GeneratedRegex("```(?:powershell|yaml|bash)?\\r?\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();

    public static HelpPage Parse(string markdown)
    {
        var text = markdown.Replace("\r\n", "\n");
        if (text.StartsWith("---\n", StringComparison.Ordinal)) text = text[(text.IndexOf("\n---\n", 4, StringComparison.Ordinal) + 5)..];
        var name = Regex.Match(text, @"^# (.+)$", RegexOptions.Multiline).Groups[1].Value.Trim();
        var sections = Sections(text, H2());
        string Section(string key) => sections.TryGetValue(key, out var v) ? v.Trim() : "";
        var syntax = Fence().Matches(Section("SYNTAX")).Select(m => m.Groups[1].Value.Trim()).ToList();
        var examples = Sections(Section("EXAMPLES"), H3()).Select(kv =>
        {
            var code = Fence().Match(kv.Value);
            var remarks = Fence().Replace(kv.Value, "").Trim();
            return new HelpExample(kv.Key, code.Success ? code.Groups[1].Value.Trim() : "", remarks);
        }).ToList();
        var parameters = Sections(Section("PARAMETERS"), H3()).Where(kv => kv.Key.StartsWith('-')).Select(kv =>
        {
            var yaml = Fence().Match(kv.Value).Groups[1].Value;
            string Field(string f) => Regex.Match(yaml, $@"^{f}:\s*(.*)$", RegexOptions.Multiline).Groups[1].Value.Trim();
            return new HelpParameter(kv.Key.TrimStart('-'), Fence().Replace(kv.Value, "").Trim(), Field("Type"),
                Field("Required").StartsWith("True", StringComparison.OrdinalIgnoreCase), Field("Position"), Field("Accept pipeline input"));
        }).ToList();
        var outputs = Sections(Section("OUTPUTS"), H3()).Select(kv => kv.Key).ToList();
        var links = Regex.Matches(Section("RELATED LINKS"), @"\[([^\]]+)\]").Select(m => m.Groups[1].Value).ToList();
        return new HelpPage(name, Section("SYNOPSIS"), Section("DESCRIPTION"), syntax, examples, parameters, outputs, links);
    }

    private static Dictionary<string, string> Sections(string text, Regex heading)
    {
        var result = new Dictionary<string, string>();
        var matches = heading.Matches(text);
        for (var i = 0; i < matches.Count; i++)
        {
            var start = matches[i].Index + matches[i].Length;
            var end = i + 1 < matches.Count ? matches[i + 1].Index : text.Length;
            result[matches[i].Groups[1].Value.Trim()] = text[start..end];
        }
        return result;
    }

    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    /// <summary>
    /// MAML for the pages. The syntax, the parameter list, INPUTS and OUTPUTS come from <paramref name="cmdlets"/> (the
    /// compiled module's metadata: what PowerShell's binder will see); the markdown gives only the words.
    /// </summary>
    public static XDocument ToMaml(IEnumerable<HelpPage> pages, IReadOnlyList<CmdletInfo> cmdlets) => new(new XDeclaration("1.0", "utf-8", null),
        new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml), new XAttribute(XNamespace.Xmlns + "command", Command), new XAttribute(XNamespace.Xmlns + "dev", Dev),
            pages.Select(p => Page(p, cmdlets.FirstOrDefault(c => c.Name == p.Name)
                ?? throw new InvalidOperationException($"help page {p.Name} documents no cmdlet of the module")))));

    private static XElement Page(HelpPage p, CmdletInfo info)
    {
        var parts = p.Name.Split('-', 2);
        string Words(string name) => p.Parameters.FirstOrDefault(x => x.Name == name)?.Description ?? "";
        XElement Param(CmdletParameter x, ParameterSetEntry e) => new(Command + "parameter",
            new XAttribute("required", e.Mandatory ? "true" : "false"),
            new XAttribute("pipelineInput", PipelineText(x)),
            new XAttribute("position", e.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "named"),
            new XAttribute("aliases", x.Aliases.Count > 0 ? string.Join(", ", x.Aliases) : "none"),
            new XAttribute("globbing", x.SupportsWildcards ? "true" : "false"),
            new XElement(Maml + "name", x.Name),
            Para(Words(x.Name)),
            x.IsSwitch ? null : new XElement(Command + "parameterValue", new XAttribute("required", "true"), x.TypeName),
            new XElement(Dev + "type", new XElement(Maml + "name", x.TypeName)));
        var sets = info.SetNames.OrderBy(s => s == info.DefaultSet ? 0 : 1).ToList();
        var inputs = info.Parameters.Where(x => x.Sets.Any(e => e.FromPipeline || e.FromPipelineByPropertyName)).ToList();
        return new XElement(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", p.Name),
                new XElement(Command + "verb", parts[0]),
                new XElement(Command + "noun", parts.Length > 1 ? parts[1] : ""),
                Para(p.Synopsis)),
            Para(p.Description),
            new XElement(Command + "syntax", sets.Select(set => new XElement(Command + "syntaxItem",
                new XElement(Maml + "name", p.Name),
                info.InSet(set).Select(x => Param(x.Parameter, x.Entry))))),
            new XElement(Command + "parameters", info.Parameters.Select(x => Param(x, x.Sets[0]))),
            new XElement(Command + "inputTypes", inputs.Select(x => new XElement(Command + "inputType",
                new XElement(Dev + "type", new XElement(Maml + "name", x.TypeName)),
                Para($"-{x.Name} {PipelineText(x).ToLowerInvariant()}")))),
            new XElement(Command + "returnValues", (info.OutputTypes.Count > 0 ? info.OutputTypes : p.Outputs).Select(o => new XElement(Command + "returnValue",
                new XElement(Dev + "type", new XElement(Maml + "name", o))))),
            new XElement(Command + "examples", p.Examples.Select(e => new XElement(Command + "example",
                new XElement(Maml + "title", $"-------------------------- {e.Title} --------------------------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", new XElement(Maml + "para", e.Remarks))))),
            new XElement(Command + "relatedLinks", p.Links.Select(l => new XElement(Maml + "navigationLink", new XElement(Maml + "linkText", l)))));
    }

    public static string PipelineText(CmdletParameter x)
    {
        var byValue = x.Sets.Any(e => e.FromPipeline);
        var byName = x.Sets.Any(e => e.FromPipelineByPropertyName);
        return (byValue, byName) switch
        {
            (true, true) => "True (ByValue, ByPropertyName)",
            (true, false) => "True (ByValue)",
            (false, true) => "True (ByPropertyName)",
            _ => "False",
        };
    }

    private static XElement Para(string text) => new(Maml + "description",
        text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(p => new XElement(Maml + "para", p.Replace('\n', ' ').Trim())));

    /// <summary>about_*.md to the plain-text layout Get-Help reads (TOPIC / SHORT DESCRIPTION / LONG DESCRIPTION ...).</summary>
    public static string AboutText(string markdown)
    {
        // The title "# about_X" becomes "TOPIC / about_X": PowerShell takes an about topic's Synopsis from the line after
        // SHORT DESCRIPTION in that layout (the fifth), and showed none for a bare "ABOUT_X" title.
        var lines = markdown.Replace("\r\n", "\n").Split('\n')
            .SelectMany(l => l.StartsWith("# about_", StringComparison.Ordinal) ? new[] { "TOPIC", "    " + l[2..].Trim() }
                : [l.StartsWith('#') ? l.TrimStart('#').Trim().ToUpperInvariant() : "    " + l]).ToList();
        return string.Join(Environment.NewLine, lines).Replace("    ```", "    ").TrimEnd() + Environment.NewLine;
    }
}

public static class Program
{
    /// <summary>
    /// The binder's facts in each "### -Param" block (sets, required, position, pipeline, wildcards) from the compiled
    /// cmdlet, so a page never says "(All)" for a parameter of one set; the words around them stay the page's own.
    /// </summary>
    public static string SyncParameterBlocks(string text, CmdletInfo info)
    {
        foreach (var p in info.Parameters)
        {
            var heading = text.IndexOf($"\n### -{p.Name}\n", StringComparison.Ordinal);
            if (heading < 0) continue;
            var open = text.IndexOf("```yaml\n", heading, StringComparison.Ordinal);
            var close = open < 0 ? -1 : text.IndexOf("\n```", open + 8, StringComparison.Ordinal);
            if (open < 0 || close < 0 || text.IndexOf("\n### ", heading + 1, StringComparison.Ordinal) is var next && next >= 0 && next < open) continue;
            var lines = text[(open + 8)..close].Split('\n').ToList();
            var sets = p.Sets.Any(e => e.SetName == CmdletMetadata.AllSets) ? "(All)" : string.Join(", ", p.Sets.Select(e => e.SetName));
            var mandatory = p.Sets.Select(e => e.Mandatory).Distinct().ToList();
            var positions = p.Sets.Select(e => e.Position).Distinct().ToList();
            void Set(string key, string value)
            {
                var i = lines.FindIndex(l => l.StartsWith(key + ":", StringComparison.Ordinal));
                if (i >= 0) lines[i] = value.Length == 0 ? key + ":" : $"{key}: {value}";
            }
            Set("Parameter Sets", sets);
            Set("Aliases", string.Join(", ", p.Aliases));
            Set("Required", mandatory.Count == 1 ? (mandatory[0] ? "True" : "False") : string.Join(", ", p.Sets.Select(e => $"{(e.Mandatory ? "True" : "False")} ({e.SetName})")));
            Set("Position", positions.Count == 1 ? positions[0]?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "Named"
                : string.Join(", ", p.Sets.Select(e => $"{e.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "Named"} ({e.SetName})")));
            Set("Accept pipeline input", MamlWriter.PipelineText(p));
            Set("Accept wildcard characters", p.SupportsWildcards ? "True" : "False");
            text = text[..(open + 8)] + string.Join("\n", lines) + text[close..];
        }
        return text;
    }

    /// <summary>HelpGen &lt;docs/en-US&gt; &lt;out/help/en-US&gt; &lt;Kubestead.dll&gt;: syntax and parameters come from the module's metadata.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 3 && args[0] == "--sync-syntax")
        {
            // Rewrites each page's SYNTAX section from the compiled module, as platyPS's Update-MarkdownHelp does.
            var infos = CmdletMetadata.Read(args[2]);
            foreach (var file in Directory.GetFiles(args[1], "*-*.md"))
            {
                var text = File.ReadAllText(file).Replace("\r\n", "\n");
                var name = Path.GetFileNameWithoutExtension(file);
                if (infos.FirstOrDefault(c => c.Name == name) is not { } info) continue;
                var start = text.IndexOf("## SYNTAX\n", StringComparison.Ordinal);
                var end = text.IndexOf("## DESCRIPTION", StringComparison.Ordinal);
                if (start < 0 || end < start) continue;
                var sets = info.OrderedSets.Select(set =>
                    (set == CmdletMetadata.AllSets ? "" : $"### {set}{(set == info.DefaultSet ? " (Default)" : "")}\n") + $"```\n{info.SyntaxLine(set)}\n```\n");
                text = text[..start] + "## SYNTAX\n\n" + string.Join("\n", sets) + "\n" + text[end..];
                File.WriteAllText(file, SyncParameterBlocks(text, info));
            }
            return 0;
        }
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: Kubestead.HelpGen <docs/en-US> <output folder> <compiled module .dll>");
            return 2;
        }
        Directory.CreateDirectory(args[1]);
        var pages = Directory.GetFiles(args[0], "*-*.md").Order(StringComparer.Ordinal).Select(f => MamlWriter.Parse(File.ReadAllText(f))).ToList();
        var cmdlets = CmdletMetadata.Read(args[2]);
        foreach (var missing in cmdlets.Where(c => pages.All(p => p.Name != c.Name)))
            Console.Error.WriteLine($"warning: {missing.Name} has no help page in {args[0]}");
        // The MAML's syntax comes from the compiled module either way; a stale markdown page would mislead its readers.
        foreach (var (page, info) in pages.Join(cmdlets, p => p.Name, c => c.Name, (p, c) => (p, c)).Where(x => !x.p.Syntax.SequenceEqual(x.c.SyntaxLines)))
            Console.Error.WriteLine($"warning: the SYNTAX of {page.Name}.md differs from the compiled cmdlet; run: dotnet run --project build/HelpGen -- --sync-syntax {args[0]} {args[2]}");
        MamlWriter.ToMaml(pages, cmdlets).Save(Path.Combine(args[1], "Kubestead.dll-Help.xml"));
        foreach (var about in Directory.GetFiles(args[0], "about_*.md"))
            File.WriteAllText(Path.Combine(args[1], Path.GetFileNameWithoutExtension(about) + ".help.txt"), MamlWriter.AboutText(File.ReadAllText(about)));
        Console.WriteLine($"{pages.Count} cmdlet pages -> {Path.Combine(args[1], "Kubestead.dll-Help.xml")}");
        return 0;
    }
}
