using System.Text.Json.Nodes;

namespace Kubestead.Sandbox.Cluster;

/// <summary>Kubernetes label selector syntax: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a in (x,y)</c>, <c>a notin (x)</c>, <c>a</c>, <c>!a</c>.</summary>
public sealed class LabelSelector
{
    private readonly List<Func<JsonObject?, bool>> _terms;

    private LabelSelector(List<Func<JsonObject?, bool>> terms) => _terms = terms;

    public bool Matches(JsonObject? labels) => _terms.All(t => t(labels));

    public static LabelSelector Parse(string? text)
    {
        var terms = new List<Func<JsonObject?, bool>>();
        foreach (var raw in SplitTerms(text ?? ""))
        {
            var term = raw.Trim();
            if (term.Length == 0) continue;
            string? Get(JsonObject? l, string k) => l?[k]?.GetValue<string>();
            if (term.Contains(" notin ", StringComparison.Ordinal) || term.Contains(" in ", StringComparison.Ordinal))
            {
                var notIn = term.Contains(" notin ", StringComparison.Ordinal);
                var parts = term.Split(notIn ? " notin " : " in ", 2);
                var key = parts[0].Trim();
                var values = parts[1].Trim().TrimStart('(').TrimEnd(')').Split(',').Select(v => v.Trim()).ToHashSet();
                terms.Add(l => notIn ? !values.Contains(Get(l, key) ?? "\0") : values.Contains(Get(l, key) ?? "\0"));
            }
            else if (term.Contains("!=", StringComparison.Ordinal))
            {
                var p = term.Split("!=", 2);
                terms.Add(l => Get(l, p[0].Trim()) != p[1].Trim());
            }
            else if (term.Contains('='))
            {
                var p = term.Split('=', StringSplitOptions.RemoveEmptyEntries);
                var key = p[0].Trim();
                var value = p.Length > 1 ? p[^1].Trim() : "";
                terms.Add(l => Get(l, key) == value);
            }
            else if (term.StartsWith('!'))
            {
                var key = term[1..].Trim();
                terms.Add(l => l?.ContainsKey(key) != true);
            }
            else terms.Add(l => l?.ContainsKey(term) == true);
        }
        return new LabelSelector(terms);
    }

    private static IEnumerable<string> SplitTerms(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }
}
