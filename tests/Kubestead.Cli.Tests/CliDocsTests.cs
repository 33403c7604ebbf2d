using System.CommandLine;
using System.Reflection;
using System.Text;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>
/// docs/cli.md cannot rot: its command reference is generated from the real command tree (set
/// KUBESTEAD_UPDATE_CLI_DOC=1 to rewrite it), and every exit code in ExitCodes is in its table.
/// </summary>
public class CliDocsTests
{
    private const string Begin = "<!-- commands: generated from the command tree by CliDocsTests; do not edit by hand -->";
    private const string End = "<!-- end of generated commands -->";

    private static string DocPath => Path.Combine(RepositoryRoot.Path, "docs", "cli.md");

    private static string Reference()
    {
        var root = new CliApp(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, Environment = _ => null }).Build();
        var sb = new StringBuilder();
        sb.Append("### Global options (every command)\n\n");
        foreach (var o in root.Options.Where(o => o.Recursive)) Option(sb, o);
        foreach (var c in root.Subcommands) Command(sb, c, "kubestead");
        return sb.ToString();
    }

    private static void Command(StringBuilder sb, Command c, string parent)
    {
        var path = $"{parent} {c.Name}";
        sb.Append($"\n### `{path}`\n\n{c.Description}\n");
        if (c.Arguments.Count > 0 || c.Options.Count > 0) sb.Append('\n');
        foreach (var a in c.Arguments) sb.Append($"- `<{a.Name}>`: {a.Description}\n");
        foreach (var o in c.Options) Option(sb, o);
        foreach (var sub in c.Subcommands) Command(sb, sub, path);
    }

    private static void Option(StringBuilder sb, Option o)
    {
        var names = string.Join(", ", new[] { o.Name }.Concat(o.Aliases.Order(StringComparer.Ordinal)).Select(n => $"`{n}`"));
        sb.Append($"- {names}: {o.Description}\n");
    }

    [Fact]
    public void The_command_reference_is_the_command_tree()
    {
        var doc = File.ReadAllText(DocPath).ReplaceLineEndings("\n");
        var begin = doc.IndexOf(Begin, StringComparison.Ordinal);
        var end = doc.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"docs/cli.md lacks the markers {Begin} ... {End}");
        var generated = "\n" + Reference() + "\n";
        var current = doc[(begin + Begin.Length)..end];
        if (current != generated && Environment.GetEnvironmentVariable("KUBESTEAD_UPDATE_CLI_DOC") == "1")
        {
            File.WriteAllText(DocPath, doc[..(begin + Begin.Length)] + generated + doc[end..]);
            current = generated;
        }
        Assert.True(current == generated, "docs/cli.md's command reference differs from the command tree; run this test with KUBESTEAD_UPDATE_CLI_DOC=1 and review the diff");
    }

    [Fact]
    public void Every_exit_code_is_in_the_table()
    {
        var doc = File.ReadAllText(DocPath);
        var codes = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToList();
        Assert.True(codes.Count >= 8, $"{codes.Count} exit codes");
        foreach (var f in codes)
            Assert.True(doc.Contains($"| {f.GetRawConstantValue()} | `{f.Name}` |", StringComparison.Ordinal), $"docs/cli.md has no row for exit code {f.GetRawConstantValue()} ({f.Name})");
    }
}
