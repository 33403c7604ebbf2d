using System.Text.RegularExpressions;

namespace Kubestead.Metrics.Web;

/// <summary>A URL with <c>{{name}}</c> variables; values are percent-encoded, so a name can never change the URL's shape.</summary>
public static partial class UrlTemplate
{
    public static readonly IReadOnlyList<string> Variables = ["workload", "deployment", "namespace", "start", "end"];

    [GeneratedRegex(@"\{\{\s*([a-zA-Z]+)\s*\}\}")]
    private static partial Regex Variable();

    public static string Render(string template, IReadOnlyDictionary<string, string> values) =>
        Variable().Replace(template, m => values.TryGetValue(m.Groups[1].Value, out var v) ? Uri.EscapeDataString(v) : m.Value);

    /// <summary>The variable names the template uses.</summary>
    public static IEnumerable<string> Used(string template) => Variable().Matches(template).Select(m => m.Groups[1].Value);
}
