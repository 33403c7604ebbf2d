using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Metrics.Web;

/// <summary>
/// The subset of JSONPath a count needs: <c>$.a.b[0].c</c> (also written <c>{$.a.b[0].c}</c>, as kubectl and Argo
/// Rollouts do). Filters and wildcards are refused: a count is one number, not a selection.
/// </summary>
public static partial class JsonPathValue
{
    [GeneratedRegex(@"^\{?\$((\.[A-Za-z_][A-Za-z0-9_-]*)|(\[[0-9]+\])|(\[""[^""]+""\]))*\}?$")]
    private static partial Regex Supported();

    [GeneratedRegex(@"\.([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]|\[""([^""]+)""\]")]
    private static partial Regex Step();

    public static bool IsSupported(string path) => Supported().IsMatch(path) && path.StartsWith('{') == path.EndsWith('}');

    /// <summary>
    /// The number at <paramref name="path"/>: null when nothing is there (a missing field, null, an empty array: no
    /// series in the window); an error message when something that is not a number is.
    /// </summary>
    public static (double? Value, string? Error) Read(JsonNode? root, string path)
    {
        var node = root;
        foreach (Match m in Step().Matches(path))
        {
            if (node is null) return (null, null);
            node = m.Groups[2].Success
                ? node is JsonArray a && int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) is var i && i < a.Count ? a[i] : null
                : node is JsonObject o ? o[m.Groups[1].Success ? m.Groups[1].Value : m.Groups[3].Value] : null;
        }
        return node switch
        {
            null => (null, null),
            JsonArray { Count: 0 } => (null, null),
            JsonValue v when v.TryGetValue<double>(out var d) && double.IsFinite(d) && d >= 0 => (d, null),
            JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && d >= 0 => (d, null),
            _ => (null, $"is {Describe(node)}, not a count"),
        };
    }

    private static string Describe(JsonNode node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        _ => $"'{Truncate(node.ToJsonString())}'",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
