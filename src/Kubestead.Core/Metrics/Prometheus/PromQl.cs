using System.Text;
using System.Text.RegularExpressions;

namespace Kubestead.Metrics.Prometheus;

/// <summary>Safe PromQL building: values are validated and escaped, so a name can never change a query's meaning.</summary>
public static partial class PromQl
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    private static partial Regex KubernetesName();

    [GeneratedRegex(@"\{\{\s*([a-zA-Z]+)\s*\}\}")]
    private static partial Regex Variable();

    /// <summary>A double-quoted PromQL string literal.</summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in value)
            sb.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", _ => c.ToString() });
        return sb.Append('"').ToString();
    }

    /// <summary>
    /// Fills <c>{{name}}</c> variables with validated Kubernetes names; unknown variables and unsafe values are errors.
    /// <paramref name="derived"/> holds values built here from validated names (such as a pod regex), substituted as they are.
    /// </summary>
    public static string Render(string template, IReadOnlyDictionary<string, string> variables, IReadOnlyDictionary<string, string>? derived = null)
    {
        return Variable().Replace(template, m =>
        {
            var name = m.Groups[1].Value;
            if (derived is not null && derived.TryGetValue(name, out var built)) return built;
            if (!variables.TryGetValue(name, out var value))
                throw new ArgumentException($"query template uses {{{{{name}}}}}, which is not one of: {string.Join(", ", variables.Keys)}");
            if (!KubernetesName().IsMatch(value))
                throw new ArgumentException($"value '{value}' for {{{{{name}}}}} is not a Kubernetes name and is not substituted into PromQL");
            return value;
        });
    }
}
